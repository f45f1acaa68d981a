/**
 * Reading histories for backtests: CSV (`ts,sensor,<quantity>,...` header; empty cells skipped)
 * or JSON lines (`{"sensor": "...", "ts": ..., "values": {...}}`, the wire payload plus the sensor).
 * Timestamps are epoch ms or ISO-8601. Readings come back sorted by event time.
 */
import { z } from 'zod'
import type { FileIssue, Sample } from '../../../rules/src/index.js'
import { EventTime } from '../contracts/payloads.js'
import { err, ok, type Result } from '../core/result.js'
import type { SensorEntry } from '../registry/registry.js'

const Line = z.strictObject({
  sensor: z.string(),
  ts: EventTime,
  seq: z.number().int().optional(),
  values: z.record(z.string(), z.number()),
})

export function parseHistory(
  text: string,
  file: string,
  sensor: (id: string) => SensorEntry | undefined,
): Result<Sample[], FileIssue[]> {
  const issues: FileIssue[] = []
  const samples: Sample[] = []
  const lines = text.split(/\r?\n/)
  const isJson =
    lines
      .find((l) => l.trim() !== '')
      ?.trimStart()
      .startsWith('{') ?? false
  const push = (line: number, sensorId: string, ts: number, values: Record<string, number>) => {
    const s = sensor(sensorId)
    if (!s) return issues.push({ file, line, path: 'sensor', message: `unknown sensor ${sensorId}` })
    samples.push({ stationId: s.station.id, kind: s.kind, ts, values })
  }
  if (isJson) {
    lines.forEach((l, i) => {
      if (l.trim() === '') return
      let json: unknown
      try {
        json = JSON.parse(l)
      } catch (e) {
        return issues.push({ file, line: i + 1, path: '', message: (e as Error).message })
      }
      const r = Line.safeParse(json)
      if (!r.success)
        return issues.push({
          file,
          line: i + 1,
          path: r.error.issues[0]?.path.join('.') ?? '',
          message: r.error.issues[0]?.message ?? 'invalid',
        })
      push(i + 1, r.data.sensor, r.data.ts, r.data.values)
    })
  } else {
    const header = (lines[0] ?? '').split(',').map((h) => h.trim())
    if (header[0] !== 'ts' || header[1] !== 'sensor' || header.length < 3)
      return err([
        { file, line: 1, path: '', message: 'CSV header must be ts,sensor,<quantity>[,<quantity>...]' },
      ])
    lines.slice(1).forEach((l, i) => {
      if (l.trim() === '') return
      const cells = l.split(',').map((c) => c.trim())
      const ts = EventTime.safeParse(/^\d+$/.test(cells[0] ?? '') ? Number(cells[0]) : cells[0])
      if (!ts.success)
        return issues.push({
          file,
          line: i + 2,
          path: 'ts',
          message: `expected epoch ms or ISO-8601 time, got "${cells[0] ?? ''}"`,
        })
      const values: Record<string, number> = {}
      for (let c = 2; c < header.length; c++) {
        const cell = cells[c]
        if (cell === undefined || cell === '') continue
        const v = Number(cell)
        if (!Number.isFinite(v))
          return issues.push({ file, line: i + 2, path: header[c]!, message: `not a number: ${cell}` })
        values[header[c]!] = v
      }
      push(i + 2, cells[1] ?? '', ts.data, values)
    })
  }
  if (issues.length > 0) return err(issues)
  // Stable sort: readings with equal times keep file order.
  return ok(samples.sort((a, b) => a.ts - b.ts))
}
