/**
 * A station's detail: its recent readings charted with uPlot (event time), the thresholds its
 * rules grade them against drawn as lines in the level's colour, the periods its warnings were in
 * force shaded (from the versions' event times), and its equipment faults.
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { get } from './api.js'
import { h } from './dom.js'
import { clock, t, tr } from './i18n.js'
import { LEVEL_COLOURS } from './map.js'
import { badge } from './panels.js'
import { state } from './store.js'
import type { StoredReading } from './types.js'

/** A threshold of GET /api/stations/:id/thresholds. */
interface Threshold {
  readonly ruleId: string
  readonly hazard: string
  readonly quantity: string
  readonly level: string
  readonly op: string
  readonly value: number
  readonly unit?: string
}

/** Event time shown before the station's latest reading. */
const WINDOW_MS = 12 * 3600_000
const MAX_CHARTS = 4

/** Periods (event time) each of the station's warnings was at a level. */
function periods(stationId: string, until: number): { from: number; to: number; level: string }[] {
  const out: { from: number; to: number; level: string }[] = []
  for (const w of state.warnings) {
    const mine =
      w.stationId === stationId || w.versions.some((v) => v.alerts.some((a) => a.stationId === stationId))
    if (!mine) continue
    const vs = w.versions.filter((v) => v.release === 'released')
    vs.forEach((v, i) => {
      if (!v.level) return
      out.push({ from: v.ts, to: vs[i + 1]?.ts ?? (w.state === 'active' ? until : v.ts), level: v.level })
    })
  }
  return out
}

export async function stationDetail(id: string): Promise<HTMLElement> {
  const s = state.stations.find((x) => x.id === id)
  if (!s) return h('p', id)
  const latest = s.latest?.ts ?? Date.now()
  const from = Math.max(0, latest - WINDOW_MS)
  const [readings, thresholds] = await Promise.all([
    get<{ readings: StoredReading[] }>(
      `/api/stations/${encodeURIComponent(id)}/readings?from=${from}&to=${latest + 1}&limit=5000`,
    ),
    get<{ thresholds: Threshold[] }>(`/api/stations/${encodeURIComponent(id)}/thresholds`).catch(() => ({
      thresholds: [] as Threshold[],
    })),
  ])
  const byQuantity = new Map<string, [number[], number[]]>()
  for (const r of readings.readings)
    for (const [q, v] of Object.entries(r.values)) {
      const series = byQuantity.get(q) ?? [[], []]
      series[0].push(r.ts / 1000)
      series[1].push(v)
      byQuantity.set(q, series)
    }
  const shaded = periods(id, latest)
  const charts = h('div.charts')
  const el = h(
    'div.station#station-detail',
    { dataset: { station: id } },
    h('header', h('h2', `${s.name}`), h('span.meta', `${id} · ${s.regionName}`)),
    s.latest
      ? h(
          'p.meta',
          `${t('latest')}: ${Object.entries(s.latest.values)
            .map(([q, v]) => `${q} ${v}`)
            .join(', ')} · ${clock(s.latest.ts, true)}`,
        )
      : null,
    thresholds.thresholds.length
      ? h(
          'ul.thresholds',
          thresholds.thresholds.map((x) =>
            h(
              'li',
              badge(x.level),
              ` ${x.quantity} ${x.op} ${x.value}${x.unit ? ` ${x.unit}` : ''} · ${x.ruleId}`,
            ),
          ),
        )
      : null,
    charts,
    h('h3', t('equipment')),
    (() => {
      const faults = state.faults.filter((f) => f.stationId === id)
      return faults.length
        ? h(
            'ul.list',
            faults.map((f) => h('li', `${f.kind}: ${f.detail} · ${clock(f.since, true)}`)),
          )
        : h('p.empty', t('noFaults'))
    })(),
  )
  // Charts are drawn once the element is in the page and laid out (uPlot sizes to its container).
  requestAnimationFrame(() => {
    for (const [q, [xs, ys]] of [...byQuantity].slice(0, MAX_CHARTS)) {
      const lines = thresholds.thresholds.filter((x) => x.quantity === q)
      const box = h('div.chart', { dataset: { quantity: q } }, h('div.meta', `${t('readings')}: ${q}`))
      charts.append(box)
      const lo = Math.min(...ys, ...lines.map((l) => l.value))
      const hi = Math.max(...ys, ...lines.map((l) => l.value))
      const pad = (hi - lo) * 0.08 || 1
      new uPlot(
        {
          width: Math.max(360, charts.clientWidth - 8),
          height: 180,
          legend: { show: false },
          scales: { x: { time: true }, y: { range: [lo - pad, hi + pad] } },
          series: [{}, { label: q, stroke: '#0969da', width: 1.5 }],
          axes: [{ stroke: '#57606a' }, { stroke: '#57606a', size: 50 }],
          hooks: {
            drawClear: [
              (u) => {
                const { ctx, bbox } = u
                for (const p of shaded) {
                  const x0 = u.valToPos(p.from / 1000, 'x', true)
                  const x1 = u.valToPos(p.to / 1000, 'x', true)
                  ctx.fillStyle = `${LEVEL_COLOURS[p.level] ?? '#8c959f'}33`
                  ctx.fillRect(
                    Math.max(bbox.left, x0),
                    bbox.top,
                    Math.min(bbox.left + bbox.width, x1) - Math.max(bbox.left, x0),
                    bbox.height,
                  )
                }
              },
            ],
            draw: [
              (u) => {
                const { ctx, bbox } = u
                for (const l of lines) {
                  const y = u.valToPos(l.value, 'y', true)
                  ctx.strokeStyle = LEVEL_COLOURS[l.level] ?? '#57606a'
                  ctx.setLineDash([6, 4])
                  ctx.lineWidth = 1.5
                  ctx.beginPath()
                  ctx.moveTo(bbox.left, y)
                  ctx.lineTo(bbox.left + bbox.width, y)
                  ctx.stroke()
                  ctx.setLineDash([])
                  ctx.fillStyle = ctx.strokeStyle
                  ctx.textAlign = 'right'
                  ctx.fillText(`${tr('lvl', l.level)} ${l.value}`, bbox.left + bbox.width - 4, y - 3)
                }
              },
            ],
          },
        },
        [xs, ys],
        box,
      )
    }
    if (byQuantity.size === 0) charts.append(h('p.empty', '—'))
  })
  return el
}
