/**
 * Dissemination policy (分类型、分级别、分区域、分人群): per hazard and level, which channels carry a
 * warning, which population groups are told by SMS, how often a loudspeaker reads it, with what
 * priority, and whether the hazard polygons of the station (a gauge's downstream villages) add
 * their loudspeakers. The first entry whose hazards and levels match applies.
 */
import { z } from 'zod'
import { Duration, type Level } from '../../../rules/src/index.js'
import { PersonRole } from '../registry/schema.js'

const LevelName = z.enum(['blue', 'yellow', 'orange', 'red', 'level_1', 'level_2'])
const HazardMatch = z.union([z.literal('*'), z.string().regex(/^[a-z][a-z0-9_]*$/)])

export const Policy = z
  .strictObject({
    hazards: z.array(HazardMatch).min(1),
    levels: z.union([z.array(LevelName).min(1), z.tuple([z.literal('*')])]),
    channels: z.array(z.enum(['loudspeaker', 'sms', 'webhook'])).min(1),
    /** Population groups told by SMS (and called for 叫应 where the level calls for it). */
    groups: z.array(PersonRole).default(['village_head', 'duty_officer', 'safety_officer']),
    /** Times a loudspeaker reads the announcement; the gateway's `warnings.repeat` when absent. */
    repeat: z.number().int().min(1).max(20).optional(),
    /**
     * While the warning stays active, the loudspeakers are told to read it again every `every`,
     * `rounds` rounds in all (the first included).
     */
    rounds: z.number().int().min(1).max(100).default(1),
    every: Duration.optional(),
    /** Loudspeaker priority; the level's own (100 + 10 × severity) when absent. */
    priority: z.number().int().min(0).max(1000).optional(),
    /** Also the loudspeakers inside the station's hazard polygons (`hazardAreas` in the registry). */
    polygons: z.boolean().default(true),
  })
  .refine((p) => p.rounds === 1 || p.every !== undefined, {
    message: 'rounds above 1 need every (the time between rounds)',
    path: ['every'],
  })
export type Policy = z.infer<typeof Policy>

export const PolicyFile = z.strictObject({ policies: z.array(Policy).min(1) })
export type PolicyFile = z.infer<typeof PolicyFile>

/** What applies when no policy file is given or no entry matches: everything, the usual groups. */
export const DEFAULT_POLICY: Policy = {
  hazards: ['*'],
  levels: ['*'],
  channels: ['loudspeaker', 'sms', 'webhook'],
  groups: ['village_head', 'duty_officer', 'safety_officer'],
  polygons: true,
  rounds: 1,
}

export function policyFor(file: PolicyFile | undefined, hazard: string, level: Level): Policy {
  return (
    file?.policies.find(
      (p) =>
        (p.hazards.includes('*') || p.hazards.includes(hazard)) &&
        ((p.levels as readonly string[]).includes('*') || (p.levels as readonly string[]).includes(level)),
    ) ?? DEFAULT_POLICY
  )
}

/** Point in polygon, kept in registry/geometry.ts beside the region boundaries' own. */
export { inPolygon } from '../registry/geometry.js'
