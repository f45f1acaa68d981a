/**
 * How far a warning reached (GET /api/warnings/{id}/coverage and /deliveries): per released
 * version, the loudspeakers' coverage as the store counts it, joined with the SMS sent for the
 * version and the 叫应 calls made for it; and the per-version count of deliveries in each state.
 */

/** A version's loudspeaker coverage, as the store computes it (targeted, reached, played…). */
export interface LoudspeakerCoverage {
  readonly version: number
}

/** The SMS of a warning, as far as coverage reads them. */
export interface SmsPort {
  messages(warningId: string): readonly {
    readonly version: number
    readonly purpose: 'warning' | 'callout'
    readonly state: string
  }[]
}

/** The 叫应 calls of a warning, as far as coverage reads them. */
export interface CalloutPort {
  callouts(warningId: string): readonly { readonly version: number; readonly state: string }[]
}

export interface CoveragePort<C extends LoudspeakerCoverage> {
  coverage(warningId: string): readonly C[]
}

/** A version's coverage across channels. */
export type VersionReach<C extends LoudspeakerCoverage> = C & {
  readonly sms: { readonly targeted: number; readonly delivered: number }
  readonly callouts: { readonly called: number; readonly answered: number }
}

/**
 * Every released version's reach: its loudspeaker coverage, warning SMS targeted and delivered
 * (callout SMS are counted as calls), responsible people called and who answered. No SMS channel:
 * nothing was sent by SMS.
 */
export function coverage<C extends LoudspeakerCoverage>(
  warningId: string,
  ports: { warnings: CoveragePort<C>; sms: SmsPort | undefined; people: CalloutPort },
): VersionReach<C>[] {
  const sms = (ports.sms?.messages(warningId) ?? []).filter((m) => m.purpose === 'warning')
  const calls = ports.people.callouts(warningId)
  return ports.warnings.coverage(warningId).map((c) => {
    const texts = sms.filter((m) => m.version === c.version)
    const called = calls.filter((x) => x.version === c.version)
    return {
      ...c,
      sms: { targeted: texts.length, delivered: texts.filter((m) => m.state === 'delivered').length },
      callouts: { called: called.length, answered: called.filter((x) => x.state === 'answered').length },
    }
  })
}

/** Deliveries per version and state: `{1: {played: 27, offline: 1}}`. */
export function deliverySummary(
  deliveries: readonly { readonly version: number; readonly state: string }[],
): Record<number, Record<string, number>> {
  const summary: Record<number, Record<string, number>> = {}
  for (const d of deliveries) {
    const s = (summary[d.version] ??= {})
    s[d.state] = (s[d.state] ?? 0) + 1
  }
  return summary
}
