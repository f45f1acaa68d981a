/**
 * The shapes the console reads, taken from the gateway's own API contract (type-only: nothing of
 * zod or the gateway ends up in the bundle), so a change of the API breaks the console's build.
 */
import type { z } from 'zod'
import type * as C from '../../../gateway/src/contracts/api.js'

export type Level = z.infer<typeof C.Level>
export type Warning = z.infer<typeof C.WarningWithVersions>
export type Version = Warning['versions'][number]
export type WarningDetail = z.infer<typeof C.WarningDetail>
export type Coverage = z.infer<typeof C.Coverage>
export type VersionCoverage = Coverage['versions'][number]
export type Deliveries = z.infer<typeof C.Deliveries>
export type Delivery = Deliveries['deliveries'][number]
export type Pending = z.infer<typeof C.Pending>['pending'][number]
export type Alert = z.infer<typeof C.Alert>
export type Silence = z.infer<typeof C.SilenceRow>
export type Fault = z.infer<typeof C.Fault>
export type Station = z.infer<typeof C.StationView>
export type Terminal = z.infer<typeof C.Terminal>
export type StoredReading = z.infer<typeof C.Readings>['readings'][number]
export type Me = z.infer<typeof C.Me>
export type LoggedIn = z.infer<typeof C.LoggedIn>
export type Role = z.infer<typeof C.OperatorRole>

/** One event of `GET /api/events`. */
export interface GatewayEvent {
  readonly id: number
  readonly at: number
  readonly type: string
  readonly region: string | null
  readonly hazard: string | null
  readonly data: Record<string, unknown>
}

/** The condition results a version's explanation carries (rules/src/engine.ts `Explanation`). */
export interface Explanation {
  readonly level?: Level
  readonly held?: boolean
  readonly conditions?: readonly {
    readonly quantity: string
    readonly agg?: string
    readonly window?: string
    readonly op: string
    readonly observed: number | null
    readonly threshold: number | null
    readonly ref?: string
  }[]
  readonly contributors?: readonly { readonly stationId: string }[]
}
