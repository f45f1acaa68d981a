/**
 * Rule noise statistics (GET /api/rules/stats): per rule, how often it fired and cleared, how
 * often its warning was lifted within `quickLift` of being issued (a rule that cries wolf), and
 * how many flap episodes the alert manager recorded in the audit log.
 */

/** Fired, cleared and quick-lift counts per rule, as the store aggregates them. */
export interface AlertCounts {
  readonly ruleId: string
  readonly fired: number
  readonly cleared: number
  readonly quickLifts: number
}

/** What the statistics read: the alert counts and the audit log's flap entries. */
export interface RuleStatsPort {
  alertStats(quickMs: number): readonly AlertCounts[]
  auditLog(filter: { action: string; limit: number }): readonly { readonly detail: unknown }[]
}

/** One rule's line in the statistics. */
export interface RuleStatsRow extends AlertCounts {
  readonly flaps: number
}

/** Flap episodes counted per rule; the audit log is append-only, so this bounds what is read. */
const MAX_FLAP_ENTRIES = 100_000

/** Every rule that fired or flapped, by id, with its counts (zero where it has none). */
export function ruleStats(
  port: RuleStatsPort,
  quickLiftMs: number,
): { quickLiftWithinMs: number; rules: RuleStatsRow[] } {
  const flaps = new Map<string, number>()
  for (const a of port.auditLog({ action: 'flap_detected', limit: MAX_FLAP_ENTRIES })) {
    const rule = (a.detail as { ruleId?: unknown } | null)?.ruleId
    if (typeof rule === 'string' && rule !== '') flaps.set(rule, (flaps.get(rule) ?? 0) + 1)
  }
  const counts = new Map(port.alertStats(quickLiftMs).map((r) => [r.ruleId, r]))
  const ids = [...new Set([...counts.keys(), ...flaps.keys()])].sort()
  return {
    quickLiftWithinMs: quickLiftMs,
    rules: ids.map((ruleId) => {
      const r = counts.get(ruleId)
      return {
        ruleId,
        fired: r?.fired ?? 0,
        cleared: r?.cleared ?? 0,
        quickLifts: r?.quickLifts ?? 0,
        flaps: flaps.get(ruleId) ?? 0,
      }
    }),
  }
}
