;(globalThis as any).T = []
process.on('exit', () => { const T = (globalThis as any).T as [string, number][]; const by = (k: string) => T.filter((x) => x[0] === k).map((x) => x[1]).sort((a, b) => a - b); for (const k of ['read', 'sent']) { const v = by(k); console.log(k, v.length, 'p50', v[v.length >> 1]?.toFixed(1), 'max', v.at(-1)?.toFixed(1)) } })
await import('./sink.mts')
