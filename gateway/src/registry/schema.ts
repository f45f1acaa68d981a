/**
 * Registry files: sensor kinds (quantities, units, plausible ranges), administrative regions,
 * stations with their sensors and per-station constants, and loudspeaker terminals.
 */
import { z } from 'zod'
import { Sl651Address, Sl651Password } from '../contracts/sl651/schema.js'
import { Duration, levelOfCode, parentCode, REGION_LEVELS, regionContains } from '../../../rules/src/index.js'

/** 12-digit administrative division code: province 2, city 2, county 2, township 3, village 3. */
export const RegionCode = z.string().regex(/^\d{12}$/, 'expected a 12-digit administrative division code')
export const Id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'ids use letters, digits, _ . : - (max 64)')

export const RegionLevel = z.enum(REGION_LEVELS)
export type RegionLevel = z.infer<typeof RegionLevel>

const Quantity = z.strictObject({
  unit: z.string().min(1),
  /** Plausible range; a reading outside it is a device fault, not a hazard. */
  min: z.number(),
  max: z.number(),
  /**
   * Fastest plausible change per minute of event time between consecutive readings; a faster
   * jump is a spike (设备故障) and the value is kept out of evaluation.
   */
  maxChangePerMin: z.number().positive().optional(),
  /**
   * A value that has not changed at all for this long (event time, three readings or more) is a
   * stuck sensor (flatline). Only for quantities that always vary, never for rain.
   */
  flatlineAfter: Duration.optional(),
  description: z.string().optional(),
})

export const SensorKind = z
  .strictObject({
    name: z.string().min(1),
    /** scalar: `{ts, values}`; seismic_batch: `{ts, sr, x[], y[], z[]}` reduced to derived quantities. */
    payload: z.enum(['scalar', 'seismic_batch']).default('scalar'),
    /**
     * Silence after which a sensor of this kind is in fault (设备故障: no data), measured on the
     * gateway's clock from the last message received. Omitted: not watched.
     */
    noDataAfter: Duration.optional(),
    quantities: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), Quantity),
  })
  .refine((k) => Object.values(k.quantities).every((q) => q.min < q.max), {
    message: 'every quantity needs min < max',
    path: ['quantities'],
  })
export type SensorKind = z.infer<typeof SensorKind>

export const KindsFile = z.strictObject({ kinds: z.record(Id, SensorKind) })
export type KindsFile = z.infer<typeof KindsFile>

const ParamName = z.string().regex(/^[a-z][a-z0-9_]*$/)

/** A position [lon, lat] (WGS 84), GeoJSON's order. */
const Position = z.tuple([
  z
    .number()
    .min(-180, 'longitude must be within [-180, 180]')
    .max(180, 'longitude must be within [-180, 180]'),
  z.number().min(-90, 'latitude must be within [-90, 90]').max(90, 'latitude must be within [-90, 90]'),
])
/** A closed ring: at least 4 positions, the last repeating the first (RFC 7946 §3.1.6). */
const LinearRing = z
  .array(Position)
  .min(4, 'a ring needs at least 4 positions (a triangle and its closing position)')
  .refine((ring) => {
    const [first, last] = [ring[0], ring[ring.length - 1]]
    return first !== undefined && last !== undefined && first[0] === last[0] && first[1] === last[1]
  }, 'a ring must be closed: its last position repeats its first')
/** Outer ring, then holes. */
const PolygonRings = z.array(LinearRing).min(1, 'a polygon needs its outer ring')

/**
 * A region's outline: a GeoJSON geometry, Polygon or MultiPolygon (an enclave, islands), with
 * [lon, lat] positions. Drawn on the console's map; containment of stations is only a warning.
 */
export const Boundary = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('Polygon'), coordinates: PolygonRings }),
  z.strictObject({
    type: z.literal('MultiPolygon'),
    coordinates: z.array(PolygonRings).min(1, 'a multipolygon needs at least one polygon'),
  }),
])
export type Boundary = z.infer<typeof Boundary>

const Region = z.strictObject({
  code: RegionCode,
  name: z.string().min(1),
  level: RegionLevel,
  /** The region's name in other languages, by language tag (e.g. `ug` for Uyghur). */
  names: z.record(z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/), z.string().min(1)).default({}),
  /**
   * Constants for every station inside the region (a county's critical rainfall, a village's
   * evacuation thresholds); a nearer region's value wins, and a station's own wins over all.
   */
  params: z.record(ParamName, z.number()).default({}),
  /** The region's outline, for the console's map. */
  boundary: Boundary.optional(),
})
export type Region = z.infer<typeof Region>

/**
 * How an SL 651-2014 telemetry station (遥测站, RTU) is read: its address and password, and which
 * of the elements it reports (table C.1, by ASCII identifier) become which quantity of which of
 * the station's sensors. Elements not listed are refused and counted.
 */
const Sl651Mapping = z.strictObject({
  address: Sl651Address,
  /** A frame with another password is refused. */
  password: Sl651Password,
  elements: z
    .array(
      z.strictObject({
        /** The element's ASCII identifier: Z (stage), PJ (current rainfall), DRP, DRZ1, VT… */
        element: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,5}$/),
        sensor: Id,
        quantity: z.string().regex(/^[a-z][a-z0-9_]*$/),
        /**
         * Added to every value (the quantity's unit): the 水位基值 a relative stage (DRZ1–8) is
         * measured from, or a gauge's datum correction.
         */
        offset: z.number().default(0),
      }),
    )
    .min(1),
})
export type Sl651Mapping = z.infer<typeof Sl651Mapping>

const Station = z.strictObject({
  id: Id,
  name: z.string().min(1),
  region: RegionCode,
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  /** Per-station constants rules refer to (warning_level, guaranteed_level, ...), in the quantity's unit. */
  params: z.record(ParamName, z.number()).default({}),
  sensors: z.array(z.strictObject({ id: Id, kind: Id, noDataAfter: Duration.optional() })).min(1),
  /** Enterprise site (a plant, a park operator) whose alarms are grouped together. */
  site: Id.optional(),
  /**
   * Hazard areas of the station (GeoJSON Polygon geometry, [lon, lat] rings): the villages a
   * gauge's flood reaches downstream, the plume area of a plant. Loudspeakers inside them get the
   * station's warnings too, when the dissemination policy says so.
   */
  hazardAreas: z
    .array(
      z.strictObject({
        type: z.literal('Polygon'),
        coordinates: z
          .array(z.array(z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)])).min(4))
          .min(1),
      }),
    )
    .default([]),
  /** The station reports over SL 651-2014 (a hydrology RTU), not JSON over MQTT. */
  sl651: Sl651Mapping.optional(),
})
export type Station = z.infer<typeof Station>

const Terminal = z.strictObject({
  id: Id,
  name: z.string().optional(),
  region: RegionCode,
  /** Position (WGS 84), for hazard-polygon targeting. */
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  language: z.string().default('zh-CN'),
  /** Terminals marked for drills receive Exercise/Test warnings. */
  drill: z.boolean().default(false),
})
export type Terminal = z.infer<typeof Terminal>

/**
 * Responsible people and population groups: duty officers and village heads are the escalation
 * tiers (village → township → county); enterprise safety officers answer for their site.
 */
export const PersonRole = z.enum(['duty_officer', 'village_head', 'safety_officer', 'resident'])
export type PersonRole = z.infer<typeof PersonRole>
const Person = z.strictObject({
  id: Id,
  name: z.string().min(1),
  region: RegionCode,
  roles: z.array(PersonRole).min(1),
  /** Mobile number for SMS (E.164 or 11-digit mainland). */
  phone: z
    .string()
    .regex(/^(\+?\d{6,15})$/, 'expected a phone number of digits, optionally with a leading +')
    .optional(),
  site: Id.optional(),
  /** Where the person lives or works (WGS 84), for hazard-polygon targeting. */
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
})
export type Person = z.infer<typeof Person>

export const RegistryFile = z
  .strictObject({
    regions: z.array(Region).min(1),
    stations: z.array(Station).default([]),
    terminals: z.array(Terminal).default([]),
    people: z.array(Person).default([]),
  })
  .superRefine((reg, ctx) => {
    const codes = new Set<string>()
    reg.regions.forEach((r, i) => {
      if (codes.has(r.code))
        ctx.addIssue({ code: 'custom', path: ['regions', i, 'code'], message: `duplicate region ${r.code}` })
      codes.add(r.code)
      const expected = levelOfCode(r.code)
      if (expected !== r.level)
        ctx.addIssue({
          code: 'custom',
          path: ['regions', i, 'level'],
          message: `code ${r.code} is a ${expected} code, not a ${r.level}`,
        })
    })
    // A region whose parent is missing is fine as a root, but not as a hole inside a declared region.
    reg.regions.forEach((r, i) => {
      const parent = parentCode(r.code)
      if (parent === undefined || codes.has(parent)) return
      if (reg.regions.some((o) => o.code !== r.code && regionContains(o.code, r.code)))
        ctx.addIssue({
          code: 'custom',
          path: ['regions', i, 'code'],
          message: `parent region ${parent} is not declared`,
        })
    })
    const unique = (list: { id: string }[], key: 'stations' | 'terminals' | 'people') => {
      const seen = new Set<string>()
      list.forEach((x, i) => {
        if (seen.has(x.id))
          ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `duplicate id ${x.id}` })
        seen.add(x.id)
      })
    }
    unique(reg.stations, 'stations')
    unique(reg.terminals, 'terminals')
    unique(reg.people, 'people')
    reg.people.forEach((p, i) => {
      if (!codes.has(p.region))
        ctx.addIssue({ code: 'custom', path: ['people', i, 'region'], message: `unknown region ${p.region}` })
    })
    const sensorIds = new Set<string>()
    reg.stations.forEach((s, i) => {
      if (!codes.has(s.region))
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'region'],
          message: `unknown region ${s.region}`,
        })
      s.sensors.forEach((sensor, j) => {
        if (sensorIds.has(sensor.id))
          ctx.addIssue({
            code: 'custom',
            path: ['stations', i, 'sensors', j, 'id'],
            message: `duplicate sensor id ${sensor.id}`,
          })
        sensorIds.add(sensor.id)
      })
    })
    reg.terminals.forEach((t, i) => {
      if (!codes.has(t.region))
        ctx.addIssue({
          code: 'custom',
          path: ['terminals', i, 'region'],
          message: `unknown region ${t.region}`,
        })
    })
  })
export type RegistryFile = z.infer<typeof RegistryFile>
