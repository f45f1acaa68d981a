/**
 * The warning as the domain sees it: warnings, their versions (issue 首报 / update 续报 / lift 终报),
 * the alerts behind them, silences, escalations, deliveries and coverage. Plain types; the SQL is
 * in the store modules (store/warnings.ts, store/alerts.ts, …).
 */
import type { Level } from '../../../rules/src/index.js'
import type { ReceiptState } from '../contracts/payloads.js'

export type WarningAction = 'issue' | 'update' | 'lift'
/** Why a version exists: a rule's evaluation, an operator, expiry, an operator's reset of a latch. */
export type VersionReason = 'rule' | 'manual' | 'expired' | 'reset'
/** Whether a version went out: at once, after approval, or not (yet). */
export type Release = 'released' | 'pending' | 'rejected' | 'inhibited' | 'superseded'

export interface WarningRow {
  readonly id: string
  /** What the warning covers: `hazard|region` (or `hazard|site:…`), or a manual warning's own key. */
  readonly key: string
  readonly origin: 'rule' | 'manual'
  /** The rule and station of the most severe alert behind the current level (`manual` by hand). */
  readonly ruleId: string
  readonly stationId: string
  readonly hazard: string
  readonly region: string
  /** Regions whose loudspeakers it goes to (12-digit codes; a county covers its villages). */
  readonly targets: readonly string[]
  /** Current level; null once lifted. */
  readonly level: Level | null
  readonly state: 'active' | 'lifted'
  readonly version: number
  /** Event time of the first version, epoch ms. */
  readonly issuedAt: number
  readonly updatedAt: number
  readonly liftedAt: number | null
  /** How it ended: its alerts cleared, an operator lifted it, it expired, or a latch was reset. */
  readonly endReason: 'cleared' | 'lifted' | 'expired' | 'reset' | null
  readonly ackedAt: number | null
  readonly ackedBy: string | null
  /** Escalation tier reached: 0 the warning's own region, then each level up to the county. */
  readonly tier: number
  /** Wall clock when it escalates next unless acknowledged; null when nothing is due. */
  readonly escalateAt: number | null
  /** Flap damping: steps down are held until this wall-clock time. */
  readonly holdUntil: number | null
  /** CAP status: drills (Exercise, Test) go only to drill terminals. */
  readonly status: 'Actual' | 'Exercise' | 'Test'
  /** For a warning relayed from upstream CAP: `sender,identifier` of the alert it came from. */
  readonly upstream: string | null
}

export interface VersionRow {
  readonly warningId: string
  readonly version: number
  readonly action: WarningAction
  readonly level: Level | null
  readonly prevLevel: Level | null
  /** Event time of the reading that caused this version. */
  readonly ts: number
  /** Gateway wall clock when the version was created. */
  readonly createdAt: number
  readonly text: string
  readonly explanation: unknown
  /** False when the station had an equipment fault (设备故障) as this version was decided. */
  readonly verified: boolean
  readonly reason: VersionReason
  readonly release: Release
  /** Approval deadline (wall clock) while pending. */
  readonly releaseDue: number | null
  readonly releasedAt: number | null
  /** Who released it: approvers' ids, or `system` (automatic, or on timeout). */
  readonly releasedBy: readonly string[]
  /** The alerts (rule, station, level, muted) behind this version. */
  readonly alerts: readonly AlertSnapshot[]
  /** Rounds read so far (policy `rounds`/`every`), and when the last began. */
  readonly roundsSent: number
  readonly lastRoundAt: number | null
}

export interface AlertSnapshot {
  readonly ruleId: string
  readonly stationId: string
  readonly level: Level
  readonly since: number
  readonly mutedBy: number | null
}

export interface AlertRow extends AlertSnapshot {
  readonly hazard: string
  readonly key: string
  readonly region: string
  readonly explanation: unknown
}

export interface SilenceRow {
  readonly id: number
  readonly stationId: string | null
  readonly region: string | null
  readonly hazard: string | null
  readonly startsAt: number
  readonly endsAt: number
  readonly author: string
  readonly reason: string
  readonly createdAt: number
  readonly endedAt: number | null
}

export interface EscalationRow {
  readonly id: number
  readonly warningId: string
  readonly tier: number
  readonly region: string
  readonly people: readonly { id: string; name: string; phone: string | null }[]
  readonly at: number
}

export interface VersionCoverage {
  readonly version: number
  readonly action: WarningAction
  readonly level: Level | null
  readonly targeted: number
  /** Terminals that sent any receipt (accepted, playing, played). */
  readonly reached: number
  readonly played: number
  readonly failed: number
  readonly offline: number
  /** Sent (or queued) with no receipt yet. */
  readonly unanswered: number
  /** Milliseconds from release to the first played receipt, and to the one that made 95 %. */
  readonly firstPlayMs: number | null
  readonly p95PlayMs: number | null
}

export interface AuditRow {
  readonly id: number
  readonly at: number
  readonly actor: string
  readonly action: string
  readonly subject: string
  readonly detail: unknown
}

/** queued → sent → accepted → playing → played | failed; offline: held for a terminal that is away. */
export type DeliveryState = 'queued' | 'offline' | 'sent' | ReceiptState

export interface DeliveryRow {
  readonly warningId: string
  readonly version: number
  readonly terminalId: string
  readonly state: DeliveryState
  readonly detail: string | null
  readonly queuedAt: number
  readonly sentAt: number | null
  readonly updatedAt: number
  readonly attempts: number
  readonly lastSentAt: number | null
}

/** 首报 / 续报 / 终报 of a version, and its CAP 1.2 msgType. */
export function reportOf(action: WarningAction): {
  report: 'first' | 'follow_up' | 'final'
  zh: string
  capMsgType: 'Alert' | 'Update' | 'Cancel'
} {
  if (action === 'issue') return { report: 'first', zh: '首报', capMsgType: 'Alert' }
  if (action === 'update') return { report: 'follow_up', zh: '续报', capMsgType: 'Update' }
  return { report: 'final', zh: '终报', capMsgType: 'Cancel' }
}

/** Who acts: an operator's id, or the gateway itself. */
export const SYSTEM = 'system'
