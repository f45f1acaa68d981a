/**
 * Fuzzing the pure parsers (issue 17), seeded (tests/fuzz/fuzz.ts): every way in that takes bytes
 * or text from outside — MQTT reading, status and receipt payloads, topics, the configuration's
 * YAML files, rule catalogues, CAP XML, SL 651 frames and bodies — gets garbage, valid inputs and
 * mutations of valid inputs. Nothing throws (a throw is a programmer error), a refusal always
 * carries a reason, valid inputs are accepted as they are.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import { stringify } from 'yaml'
import { readCap } from '../../gateway/src/cap/intake.js'
import { DEFAULT_KINDS, loadConfig } from '../../gateway/src/config/load.js'
import { GatewayConfigFile } from '../../gateway/src/config/schema.js'
import {
  ReadingPayload,
  SensorStatusPayload,
  TerminalReceipt,
  TerminalCommand,
} from '../../gateway/src/contracts/payloads.js'
import { decodeBody, encodeReport, FN } from '../../gateway/src/contracts/sl651/body.js'
import { encodeFrame, ETX, FrameReader, type FrameEncoding } from '../../gateway/src/contracts/sl651/frame.js'
import {
  parseSensorTopic,
  parseTerminalTopic,
  sensorDataTopic,
  sensorStatusTopic,
  terminalCmdTopic,
  terminalReceiptTopic,
  terminalStatusTopic,
} from '../../gateway/src/contracts/topics.js'
import { decodeReading } from '../../gateway/src/ingest/decode.js'
import { KindsFile, RegistryFile, type SensorKind } from '../../gateway/src/registry/schema.js'
import { parseCatalogue, parseYaml, type Parsed } from '../../rules/src/index.js'
import { DEMO_REGISTRY } from '../helpers/gateway.js'
import { anyJson, anyText, check, SEED } from './fuzz.js'

const ROOT = join(import.meta.dirname, '../..')
const kindsParsed = parseYaml(readFileSync(DEFAULT_KINDS, 'utf8'), DEFAULT_KINDS, KindsFile)
if (!kindsParsed.ok) throw new Error('the shipped kinds do not load')
const KINDS = kindsParsed.value.kinds
const SCALAR = Object.entries(KINDS).filter(([, k]) => k.payload === 'scalar')
const SEISMIC = Object.entries(KINDS).find(([, k]) => k.payload === 'seismic_batch')![1]
const REASONS = ['bad_json', 'invalid_payload', 'unknown_quantity']
const MIN_TS = Date.UTC(2000, 0, 1)
const MAX_TS = Date.UTC(2100, 0, 1) - 1

/** Edits of a text: insertions of arbitrary text, deletions, duplicated and swapped slices. */
function mutated(base: string, maxEdits = 4): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: anyText(12) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ op: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 60 }) }),
    fc.record({
      op: fc.constant('char' as const),
      at: fc.nat(),
      ch: fc.constantFrom(...': -[]{}#&*!|>\'"\n\t0xé'),
    }),
  )
  return fc.array(edit, { minLength: 1, maxLength: maxEdits }).map((edits) => {
    let s = base
    for (const e of edits) {
      const at = s.length === 0 ? 0 : e.at % (s.length + 1)
      if (e.op === 'insert') s = s.slice(0, at) + e.text + s.slice(at)
      else if (e.op === 'delete') s = s.slice(0, at) + s.slice(at + e.len)
      else if (e.op === 'dup') s = s.slice(0, at + e.len) + s.slice(at, at + e.len) + s.slice(at + e.len)
      else s = s.slice(0, at) + e.ch + s.slice(at + 1)
    }
    return s
  })
}

/** Byte edits of a buffer: flipped bits, overwritten, inserted and deleted bytes, truncation. */
function mutatedBytes(base: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  )
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let b = Buffer.from(base)
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % b.length
      if (e.op === 'flip' && b.length > 0) b[at] = b[at]! ^ (1 << e.bit)
      else if (e.op === 'set' && b.length > 0) b[at] = e.byte
      else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)])
      else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)])
      else if (e.op === 'cut') b = b.subarray(0, at)
    }
    return b
  })
}

/** A refusal of the YAML loaders: at least one issue, each with its file, path and message. */
function expectLocated<T>(r: Parsed<T>, file: string): void {
  if (r.ok) return
  expect(r.error.length).toBeGreaterThan(0)
  for (const i of r.error) {
    expect(i.file).toBe(file)
    expect(typeof i.path).toBe('string')
    expect(i.message.trim()).not.toBe('')
    if (i.line !== undefined) expect(Number.isInteger(i.line) && i.line >= 1).toBe(true)
  }
}

/** A decoded reading: accepted with values and faults that agree with the kind, or refused with a reason. */
function expectDecoded(d: ReturnType<typeof decodeReading>, kind: SensorKind): void {
  if (!d.ok) {
    expect(REASONS).toContain(d.reason)
    expect(d.detail.trim()).not.toBe('')
    return
  }
  expect(Number.isInteger(d.ts) && d.ts >= MIN_TS).toBe(true)
  expect(Object.keys(d.values).length).toBeGreaterThan(0)
  for (const [q, v] of Object.entries(d.values)) {
    const spec = kind.quantities[q]
    expect(spec, q).toBeDefined()
    expect(Number.isFinite(v)).toBe(true)
    expect(d.faults.includes(q)).toBe(v < spec!.min || v > spec!.max)
  }
}

const kindArb = fc.constantFrom(...SCALAR.map(([, k]) => k))
const eventTime = fc.oneof(
  fc.integer({ min: MIN_TS, max: MAX_TS }),
  fc.date({ min: new Date(MIN_TS), max: new Date(MAX_TS), noInvalidDate: true }).map((d) => d.toISOString()),
)
/** A valid scalar reading of `kind`: any non-empty subset of its quantities, finite values. */
const validReading = (kind: SensorKind) =>
  fc.record(
    {
      ts: eventTime,
      seq: fc.nat(),
      values: fc
        .subarray(Object.keys(kind.quantities), { minLength: 1 })
        .chain((qs) =>
          fc.tuple(
            ...qs.map((q) => fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => [q, v] as const)),
          ),
        )
        .map((pairs) => Object.fromEntries(pairs)),
    },
    { requiredKeys: ['ts', 'values'] },
  )
const kindAndReading = kindArb.chain((kind) => fc.tuple(fc.constant(kind), validReading(kind)))

/** Replaces, deletes or adds a key somewhere in a JSON object (one level deep). */
const jsonMutation = fc.record({
  path: fc.constantFrom(
    'ts',
    'seq',
    'values',
    'state',
    'battery',
    'warningId',
    'version',
    'x',
    'sr',
    'extra',
  ),
  op: fc.constantFrom('delete', 'replace', 'replaceInValues'),
  value: anyJson,
})
function applyMutation(obj: Record<string, unknown>, m: { path: string; op: string; value: unknown }) {
  const out: Record<string, unknown> = structuredClone(obj)
  if (m.op === 'delete') delete out[m.path]
  else if (m.op === 'replace') out[m.path] = m.value
  else if (out.values && typeof out.values === 'object') {
    const keys = Object.keys(out.values)
    if (keys.length > 0) (out.values as Record<string, unknown>)[keys[0]!] = m.value
  }
  return out
}

const totals = new Map<string, number>()
afterAll(() => {
  const n = [...totals.values()].reduce((a, b) => a + b, 0)
  process.stdout.write(`fuzz parsers (seed ${SEED}): ${n} inputs\n`)
})
/** check() with the suite's per-test totals kept for the closing line. */
const run: typeof check = (ctx, numRuns, arbs, predicate) => {
  try {
    check(ctx, numRuns, arbs, predicate)
  } finally {
    totals.set(ctx.task.name, ctx.task.meta.fuzzInputs ?? 0)
  }
}

describe(`MQTT payloads (seed ${SEED})`, () => {
  test('arbitrary bytes as a reading of any kind: refused with a reason, never a throw', (ctx) => {
    run(
      ctx,
      10_000,
      [fc.constantFrom(...Object.values(KINDS)), fc.uint8Array({ maxLength: 300 })],
      (kind, bytes) => expectDecoded(decodeReading(Buffer.from(bytes), kind), kind),
    )
  })

  test('arbitrary JSON as a reading of any kind', (ctx) => {
    run(ctx, 10_000, [fc.constantFrom(...Object.values(KINDS)), anyJson], (kind, json) =>
      expectDecoded(decodeReading(Buffer.from(JSON.stringify(json) ?? 'null'), kind), kind),
    )
  })

  test('valid readings are accepted with exactly their values; out-of-range values are faults', (ctx) => {
    run(ctx, 10_000, [kindAndReading], ([kind, reading]) => {
      const d = decodeReading(Buffer.from(JSON.stringify(reading)), kind)
      expect(d.ok, JSON.stringify(d)).toBe(true)
      if (!d.ok) return
      // As the wire carries them: JSON writes -0 as 0.
      expect(d.values).toEqual(JSON.parse(JSON.stringify(reading.values)))
      expect(d.ts).toBe(typeof reading.ts === 'number' ? reading.ts : Date.parse(reading.ts))
      if (reading.seq !== undefined) expect(d.seq).toBe(reading.seq)
      expectDecoded(d, kind)
    })
  })

  test('mutated valid readings: accepted consistently or refused with a reason', (ctx) => {
    run(ctx, 10_000, [kindAndReading, jsonMutation, fc.boolean()], ([kind, reading], m, asText) => {
      const obj = applyMutation(reading, m)
      const text = JSON.stringify(obj)
      // Half of them also cut or spliced as text, so half-written JSON is covered too.
      const payload = asText ? text.slice(0, Math.max(0, text.length - 1 - (m.path.length % 5))) : text
      expectDecoded(decodeReading(Buffer.from(payload), kind), kind)
    })
  })

  test('seismic batches: valid ones accepted, mutated ones refused with a reason or accepted', (ctx) => {
    const batch = fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.record({
        ts: fc.integer({ min: MIN_TS, max: MIN_TS + 1e12 }),
        sr: fc.double({ min: 1, max: 1000, noNaN: true }),
        x: fc.array(fc.double({ min: -2000, max: 2000, noNaN: true }), { minLength: n, maxLength: n }),
        y: fc.array(fc.double({ min: -2000, max: 2000, noNaN: true }), { minLength: n, maxLength: n }),
        z: fc.array(fc.double({ min: -2000, max: 2000, noNaN: true }), { minLength: n, maxLength: n }),
      }),
    )
    run(ctx, 3000, [batch, fc.option(jsonMutation, { freq: 2 })], (b, m) => {
      const d = decodeReading(Buffer.from(JSON.stringify(m ? applyMutation(b, m) : b)), SEISMIC)
      if (!m) expect(d.ok, JSON.stringify(d)).toBe(true)
      expectDecoded(d, SEISMIC)
      if (d.ok) expect(Number.isFinite(d.values.pga_gal!) && Number.isFinite(d.values.pga_z_gal!)).toBe(true)
    })
  })

  test('status, receipt and command payloads: the schemas refuse with issues or accept', (ctx) => {
    const validStatus = fc.record(
      {
        state: fc.constantFrom('online', 'offline'),
        ts: fc.integer({ min: MIN_TS, max: MAX_TS }),
        battery: fc.double({ min: 0, max: 100, noNaN: true }),
      },
      { requiredKeys: ['state'] },
    )
    const validReceipt = fc.record(
      {
        warningId: fc.string(),
        version: fc.integer({ min: 1, max: 2 ** 31 }),
        state: fc.constantFrom('accepted', 'playing', 'played', 'failed'),
        ts: eventTime,
        detail: fc.string({ maxLength: 500 }),
      },
      { requiredKeys: ['warningId', 'version', 'state', 'ts'] },
    )
    const schemas = [SensorStatusPayload, TerminalReceipt, TerminalCommand, ReadingPayload] as const
    run(
      ctx,
      8000,
      [
        fc.oneof(validStatus, validReceipt, anyJson),
        fc.option(jsonMutation),
        fc.nat({ max: schemas.length - 1 }),
      ],
      (value, m, which) => {
        const input =
          m && value !== null && typeof value === 'object' && !Array.isArray(value)
            ? applyMutation(value as Record<string, unknown>, m)
            : value
        const r = schemas[which]!.safeParse(input)
        if (!r.success) {
          expect(r.error.issues.length).toBeGreaterThan(0)
          for (const i of r.error.issues) expect(i.message.trim()).not.toBe('')
        }
      },
    )
    run(ctx, 2000, [validStatus, validReceipt], (s, rc) => {
      expect(SensorStatusPayload.safeParse(s).success).toBe(true)
      expect(TerminalReceipt.safeParse(rc).success).toBe(true)
    })
  })
})

describe(`topics (seed ${SEED})`, () => {
  const id = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/)
  test('valid topics parse back to their parts', (ctx) => {
    run(ctx, 4000, [id, id], (kind, sensor) => {
      expect(parseSensorTopic(sensorDataTopic(kind, sensor))).toEqual({
        kind,
        sensorId: sensor,
        channel: 'data',
      })
      expect(parseSensorTopic(sensorStatusTopic(kind, sensor))).toEqual({
        kind,
        sensorId: sensor,
        channel: 'status',
      })
      expect(parseTerminalTopic(terminalCmdTopic(sensor))).toEqual({ terminalId: sensor, channel: 'cmd' })
      expect(parseTerminalTopic(terminalReceiptTopic(sensor))).toEqual({
        terminalId: sensor,
        channel: 'receipt',
      })
      expect(parseTerminalTopic(terminalStatusTopic(sensor))).toEqual({
        terminalId: sensor,
        channel: 'status',
      })
    })
  })

  test('arbitrary and mutated topics: undefined or parts that rebuild the same topic', (ctx) => {
    const topic = fc.oneof(
      anyText(80),
      fc.tuple(id, id).chain(([k, s]) => mutated(sensorDataTopic(k, s), 2)),
      id.chain((t) => mutated(terminalReceiptTopic(t), 2)),
      fc
        .array(
          fc.constantFrom(
            'sensors',
            'terminals',
            'data',
            'status',
            'cmd',
            'receipt',
            '+',
            '#',
            '',
            'rain',
            'a/b',
          ),
          { maxLength: 6 },
        )
        .map((p) => p.join('/')),
    )
    run(ctx, 8000, [topic], (t) => {
      const s = parseSensorTopic(t)
      if (s)
        expect(
          s.channel === 'data' ? sensorDataTopic(s.kind, s.sensorId) : sensorStatusTopic(s.kind, s.sensorId),
        ).toBe(t)
      const r = parseTerminalTopic(t)
      if (r) expect(`terminals/${r.terminalId}/${r.channel}`).toBe(t)
    })
  })
})

describe(`configuration YAML (seed ${SEED})`, () => {
  const GATEWAY = readFileSync(join(ROOT, 'gateway/config/demo/gateway.yaml'), 'utf8')
  const COUNTY = readFileSync(DEMO_REGISTRY, 'utf8')
  const KINDS_TEXT = readFileSync(DEFAULT_KINDS, 'utf8')
  const yamlOfJson = anyJson.map((j) => stringify(j))

  test('gateway.yaml, registry and kinds: arbitrary and mutated text refused with located issues', (ctx) => {
    const files = [
      { file: 'gateway.yaml', schema: GatewayConfigFile, text: GATEWAY },
      { file: 'county.yaml', schema: RegistryFile, text: COUNTY },
      { file: 'kinds.yaml', schema: KindsFile, text: KINDS_TEXT },
    ] as const
    const input = fc
      .nat({ max: 2 })
      .chain((i) =>
        fc.tuple(
          fc.constant(i),
          fc.oneof({ weight: 3, arbitrary: mutated(files[i]!.text) }, yamlOfJson, anyText(300)),
        ),
      )
    run(ctx, 600, [input], ([i, text]) => {
      const f = files[i]!
      expectLocated(parseYaml(text, f.file, f.schema), f.file)
    })
  })

  test('loadConfig on a directory of mutated files: a complete configuration or located issues', (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'shaobing-fuzz-config-'))
    try {
      const gatewayText = [
        `registry: county.yaml`,
        `kinds: kinds.yaml`,
        `rules: [${JSON.stringify(join(ROOT, 'rules/catalog/hydrology.yaml'))}, ${JSON.stringify(join(ROOT, 'rules/catalog/meteorology.yaml'))}]`,
        `dataDir: data`,
        `dissemination: ${JSON.stringify(join(ROOT, 'gateway/config/demo/dissemination.yaml'))}`,
        GATEWAY.slice(GATEWAY.indexOf('warnings:')),
      ].join('\n')
      const which = fc.constantFrom('gateway.yaml', 'county.yaml', 'kinds.yaml')
      run(ctx, 80, [which, fc.nat()], (file, k) => {
        const texts: Record<string, string> = {
          'gateway.yaml': gatewayText,
          'county.yaml': COUNTY,
          'kinds.yaml': KINDS_TEXT,
        }
        // One file mutated per run, deterministically from the generated number.
        const m = fc.sample(mutated(texts[file]!), { seed: k, numRuns: 1 })[0]!
        texts[file] = m
        for (const [name, text] of Object.entries(texts)) writeFileSync(join(dir, name), text)
        const r = loadConfig(join(dir, 'gateway.yaml'))
        if (!r.ok) {
          expect(r.error.length).toBeGreaterThan(0)
          for (const i of r.error) expect(i.message.trim()).not.toBe('')
        } else expect(r.value.registry.stations.length).toBeGreaterThan(0)
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe(`rule catalogues (seed ${SEED})`, () => {
  const CATS = ['hydrology', 'meteorology', 'flash-flood', 'seismic', 'gas', 'dust', 'major-hazard'].map(
    (n) => readFileSync(join(ROOT, `rules/catalog/${n}.yaml`), 'utf8'),
  )
  test('shipped catalogues load, and mutations of them are refused with located issues or load', (ctx) => {
    for (const [i, text] of CATS.entries()) expect(parseCatalogue(text, `c${i}.yaml`).ok).toBe(true)
    const input = fc.nat({ max: CATS.length - 1 }).chain((i) => mutated(CATS[i]!))
    run(
      ctx,
      700,
      [
        fc.oneof(
          { weight: 4, arbitrary: input },
          anyJson.map((j) => stringify({ catalogue: 'x', version: 1, title: 't', rules: j })),
        ),
      ],
      (text) => expectLocated(parseCatalogue(text, 'catalogue.yaml'), 'catalogue.yaml'),
    )
  })
})

describe(`CAP XML intake (seed ${SEED})`, () => {
  const field = (tag: string, v: string) => `<${tag}>${v}</${tag}>`
  const capText = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      'Actual',
      'Alert',
      'Public',
      'Met',
      'Severe',
      '2026-07-15T15:32:00+08:00',
      '511823',
      '11B03',
    ),
  )
  /** A CAP alert of arbitrary field values and repetitions, in the CAP namespace or another. */
  const alertXml = fc
    .record({
      ns: fc.constantFrom('urn:oasis:names:tc:emergency:cap:1.2', 'urn:oasis:names:tc:emergency:cap:1.1', ''),
      identifier: capText,
      sent: fc.constantFrom('2026-07-15T15:32:00+08:00', '2026-07-15', 'x'),
      status: fc.constantFrom('Actual', 'Exercise', 'Test', 'System', 'Draft', 'Bogus'),
      msgType: fc.constantFrom('Alert', 'Update', 'Cancel', 'Ack', 'Error'),
      scope: fc.constantFrom('Public', 'Private'),
      references: fc.option(capText),
      infos: fc.array(
        fc.record({
          category: fc.array(fc.constantFrom('Met', 'Geo', 'Nope'), { maxLength: 3 }),
          event: fc.constantFrom('暴雨预警', '地震', 'x', ''),
          severity: fc.constantFrom('Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown', '?'),
          codes: fc.array(fc.constantFrom('11B03', '11B01', '', '<'), { maxLength: 2 }),
          geocodes: fc.array(
            fc.oneof(fc.constantFrom('511823', '511823100201', '5118231', '999999', ''), capText),
            { maxLength: 3 },
          ),
          expires: fc.option(fc.constantFrom('2026-07-16T15:32:00+08:00', 'never')),
        }),
        { maxLength: 3 },
      ),
    })
    .map(
      (a) =>
        `<?xml version="1.0"?><alert xmlns="${a.ns}">${field('identifier', a.identifier)}${field('sender', 'qxj@cma')}${field('sent', a.sent)}${field('status', a.status)}${field('msgType', a.msgType)}${field('scope', a.scope)}${a.references !== null ? field('references', a.references) : ''}` +
        a.infos
          .map(
            (i) =>
              `<info>${i.category.map((c) => field('category', c)).join('')}${field('event', i.event)}${field('urgency', 'Unknown')}${field('severity', i.severity)}${field('certainty', 'Unknown')}` +
              i.codes
                .map(
                  (c) => `<eventCode>${field('valueName', 'CN-EventType')}${field('value', c)}</eventCode>`,
                )
                .join('') +
              (i.expires !== null ? field('expires', i.expires) : '') +
              `<area>${field('areaDesc', 'a')}${i.geocodes.map((g) => `<geocode>${field('valueName', 'GB/T 2260')}${field('value', g)}</geocode>`).join('')}</area></info>`,
          )
          .join('') +
        `</alert>`,
    )
  test('arbitrary, generated and mutated alerts: a relay plan or reasons, never a throw', (ctx) => {
    run(
      ctx,
      7000,
      [
        fc.oneof(
          anyText(300),
          alertXml,
          alertXml.chain((x) => mutated(x, 3)),
        ),
      ],
      (xml) => {
        const r = readCap(xml)
        if (r.kind === 'refused') {
          expect(r.reasons.length).toBeGreaterThan(0)
          for (const reason of r.reasons) expect(reason.trim()).not.toBe('')
        } else {
          expect(['issue', 'update', 'cancel']).toContain(r.kind)
          for (const c of r.codes) expect(c).toMatch(/^\d{12}$/)
          expect(typeof r.hazard).toBe('string')
        }
      },
    )
  })
})

describe(`SL 651 codec (seed ${SEED})`, () => {
  const T = Date.UTC(2026, 7, 3, 9)
  const frameOf = (encoding: FrameEncoding, serial: number, stage: number, fn: number) =>
    encodeFrame({
      encoding,
      direction: 'up',
      center: 1,
      address: '0061234567',
      password: '1234',
      fn,
      end: ETX,
      body: encodeReport(
        encoding,
        {
          serial,
          sentAt: T + serial * 1000,
          stations: [
            {
              address: '0061234567',
              category: 'H',
              groups: [
                {
                  observedAt: T,
                  elements: [
                    { id: 'Z', value: stage },
                    { id: 'VT', value: 12.5 },
                  ],
                },
              ],
            },
          ],
        },
        480,
      ),
    })
  const validFrame = fc
    .record({
      encoding: fc.constantFrom<FrameEncoding>('hex', 'ascii'),
      serial: fc.integer({ min: 0, max: 65535 }),
      stage: fc.integer({ min: 0, max: 99_999 }).map((v) => v / 1000),
      fn: fc.constantFrom(FN.timed, FN.added, FN.hourly),
    })
    .map((f) => ({ ...f, bytes: frameOf(f.encoding, f.serial, f.stage, f.fn) }))

  /** Reads a stream in the given chunks; every byte ends up in exactly one frame or problem. */
  function readAll(bytes: Buffer, cuts: readonly number[]) {
    const reader = new FrameReader()
    const frames: { encoding: FrameEncoding; fn: number; body: Buffer; header: string }[] = []
    let accounted = 0
    let at = 0
    const drain = () => {
      for (let r = reader.read(); r !== undefined; r = reader.read()) {
        if ('frame' in r) {
          accounted += r.frame.size
          frames.push({
            encoding: r.frame.encoding,
            fn: r.frame.fn,
            body: r.frame.body,
            header: r.frame.address,
          })
        } else {
          expect(r.problem.bytes).toBeGreaterThan(0)
          expect(r.problem.detail.trim()).not.toBe('')
          accounted += r.problem.bytes
        }
      }
    }
    for (const c of [...cuts, bytes.length]) {
      const to = Math.min(bytes.length, Math.max(at, c))
      reader.push(bytes.subarray(at, to))
      at = to
      drain()
    }
    // What is left is a frame begun and never finished: abandoned byte by byte, as the listener does.
    for (let p = reader.abandon(); p !== undefined; p = reader.abandon()) {
      accounted += p.bytes
      drain()
    }
    expect(accounted).toBe(bytes.length)
    return frames
  }
  const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 5 }).map((c) => c.sort((a, b) => a - b))
  const expectBody = (f: { encoding: FrameEncoding; fn: number; body: Buffer; header: string }) => {
    const r = decodeBody(f.encoding, f.fn, f.body, f.header, 480)
    if (!r.ok) expect(r.error.detail.trim()).not.toBe('')
    else for (const p of r.report.problems) expect(p.detail.trim()).not.toBe('')
    return r
  }

  test('arbitrary bytes in arbitrary chunks: every byte accounted for, bodies decode or are refused', (ctx) => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc
        .array(
          fc.oneof(fc.constantFrom(0x7e, 0x01, 0x02, 0x03, 0x16, 0x17), fc.integer({ min: 0, max: 255 })),
          { maxLength: 300 },
        )
        .map((a) => Uint8Array.from(a)),
    )
    run(ctx, 8000, [bytes, cuts], (b, c) => {
      for (const f of readAll(Buffer.from(b), c)) expectBody(f)
    })
  })

  test('valid frames are read whole and decode to their stage; mutated ones never crash', (ctx) => {
    run(ctx, 4000, [validFrame, cuts], (f, c) => {
      const frames = readAll(f.bytes, c)
      expect(frames.length).toBe(1)
      const r = expectBody(frames[0]!)
      expect(r.ok).toBe(true)
      if (r.ok) expect(r.report.observations.find((o) => o.element === 'Z')?.value).toBeCloseTo(f.stage, 3)
    })
    run(
      ctx,
      8000,
      [validFrame.chain((f) => fc.tuple(fc.constant(f), mutatedBytes(f.bytes))), cuts],
      ([, m], c) => {
        for (const f of readAll(m, c)) expectBody(f)
      },
    )
  })

  test('arbitrary and mutated bodies under any function code: a report or a reason', (ctx) => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      validFrame.chain((f) => mutatedBytes(readAll(f.bytes, [])[0]!.body)),
    )
    run(
      ctx,
      8000,
      [
        fc.constantFrom<FrameEncoding>('hex', 'ascii'),
        fc.integer({ min: 0, max: 255 }),
        body,
        fc.integer({ min: -720, max: 840 }),
      ],
      (enc, fn, b, off) => {
        const r = decodeBody(enc, fn, b, '0061234567', off)
        if (!r.ok) expect(r.error.detail.trim()).not.toBe('')
      },
    )
  })
})
