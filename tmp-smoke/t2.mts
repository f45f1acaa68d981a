;(globalThis as any).T = []
process.on('exit', () => { const T = (globalThis as any).T as [string, number, number][]; const s = T.findIndex((x) => x[0] === 'send'); let prev = T[s]![1]; for (const [k, t, n] of T.slice(s, s + 40)) { console.log(k.padEnd(9), (t - prev).toFixed(1).padStart(7), n); prev = t } })
await import('./sink.mts')
