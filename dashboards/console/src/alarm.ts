/**
 * The audible alarm: a two-tone siren (Web Audio, no sound file to fetch) while a red or orange
 * warning waits for this officer, until it is acknowledged or decided. Browsers only let a page
 * make sound after a click on it; until then the top bar offers the button that enables it.
 */
let ctx: AudioContext | undefined
let siren: { stop(): void } | undefined

/** Whether the page may sound now (a click has unlocked the audio). */
export const soundEnabled = (): boolean => ctx?.state === 'running'

/** Unlock the audio; call it from a click. */
export async function enableSound(): Promise<boolean> {
  ctx ??= new AudioContext()
  if (ctx.state !== 'running') await ctx.resume().catch(() => undefined)
  return soundEnabled()
}

/** Whether the siren is sounding now (the browser tests read it too). */
export const sounding = (): boolean => siren !== undefined

export function soundAlarm(on: boolean): void {
  document.body.dataset['alarm'] = on ? 'on' : 'off'
  if (!on) {
    siren?.stop()
    siren = undefined
    return
  }
  if (siren || !ctx) return
  const osc = ctx.createOscillator()
  const gain = ctx.createGain()
  osc.type = 'square'
  gain.gain.value = 0.08
  osc.connect(gain).connect(ctx.destination)
  // 960 Hz and 770 Hz alternating every half second (a square wave of 1 Hz swings the pitch),
  // like a civil-defence alert tone, for as long as it is on.
  osc.frequency.value = 865
  const lfo = ctx.createOscillator()
  const swing = ctx.createGain()
  lfo.type = 'square'
  lfo.frequency.value = 1
  swing.gain.value = 95
  lfo.connect(swing).connect(osc.frequency)
  osc.start()
  lfo.start()
  siren = {
    stop: () => {
      osc.stop()
      lfo.stop()
      osc.disconnect()
      lfo.disconnect()
    },
  }
}
