/**
 * Station view: one station (`$station`, from the `reading` measurement's station tag) — each
 * quantity some station has thresholds for, beside the rules' window aggregates of it
 * (`rain_mm_sum_1h`…) with the station's thresholds as lines; all its quantities; its alerts' levels
 * and its faults as state timelines; its warnings as annotations.
 *
 * Series are named `<station> <column>` in both flavours (InfluxQL `max_<field>`, Prometheus
 * `reading_<field>`), which is what the per-station threshold overrides match.
 */
import { GraphThresholdsStyleMode, type Dashboard, type FieldConfigSource } from '@grafana/schema'
import {
  FAULT_MAPPINGS,
  LEVEL_COLOURS,
  LEVEL_MAPPINGS,
  dashboard,
  influx,
  influxAnnotation,
  layout,
  prom,
  promAnnotation,
  queryVariable,
  thresholds,
  type Flavour,
  type PanelSpec,
  type RowSpec,
} from './builder.js'
import { stationFieldThresholds, thresholdQuantities, type ThresholdsFile } from './thresholds.js'

/** The fields of one quantity's panel: the quantity and its window aggregates (those a threshold can be on). */
const familyRegex = (quantity: string) => `${quantity}(_(sum|mean|min|max)_[0-9]+[a-z]+)?`
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** What each flavour puts before a reading field in a series name. */
const FIELD_PREFIX: Readonly<Record<Flavour, string>> = { influxdb: 'max_', prometheus: 'reading_' }

/** Per station, per field: the thresholds as a Grafana override of the series that carry them. */
function thresholdOverrides(
  flavour: Flavour,
  quantity: string,
  file: ThresholdsFile,
): FieldConfigSource['overrides'] {
  const family = new RegExp(`^${familyRegex(quantity)}$`)
  const out: FieldConfigSource['overrides'] = []
  for (const [station, list] of Object.entries(file.stations))
    for (const [field, steps] of stationFieldThresholds(list)) {
      if (!family.test(field)) continue
      out.push({
        matcher: {
          id: 'byRegexp',
          options: `^${escapeRegex(station)} ${escapeRegex(FIELD_PREFIX[flavour] + field)}$`,
        },
        properties: [
          {
            id: 'thresholds',
            value: thresholds(steps.map((s) => ({ value: s.value, color: LEVEL_COLOURS[s.level] ?? 'red' }))),
          },
          { id: 'custom.thresholdsStyle', value: { mode: GraphThresholdsStyleMode.Line } },
        ],
      })
    }
  return out
}

function quantityPanel(flavour: Flavour, file: ThresholdsFile, quantity: string, unit?: string): PanelSpec {
  const regex = familyRegex(quantity)
  return {
    type: 'timeseries',
    title: `${quantity}${unit !== undefined ? ` (${unit})` : ''} and its windows`,
    description: `The station's ${quantity} and the rules' window aggregates of it at each reading, with the station's thresholds (GET /api/stations/:id/thresholds, in thresholds.json) as lines.`,
    targets: [
      flavour === 'influxdb'
        ? influx(
            `SELECT max(/^${regex}$/) FROM "reading" WHERE "station" = '$station' AND $timeFilter GROUP BY time($__interval), "station" fill(none)`,
            '$tag_station $col',
          )
        : prom(`{__name__=~"reading_${regex}", station="$station"}`, '{{station}} {{__name__}}'),
    ],
    fieldConfig: {
      defaults: { custom: { spanNulls: true, showPoints: 'auto' } },
      overrides: thresholdOverrides(flavour, quantity, file),
    },
  }
}

export function stationDashboard(flavour: Flavour, file: ThresholdsFile): Dashboard {
  const byHazard = new Map<string, PanelSpec[]>()
  for (const q of thresholdQuantities(file))
    byHazard.set(q.hazard, [
      ...(byHazard.get(q.hazard) ?? []),
      quantityPanel(flavour, file, q.quantity, q.unit),
    ])
  const panels: (PanelSpec | RowSpec)[] = [
    ...[...byHazard].flatMap(([hazard, list]) => [
      { row: `Thresholds: ${hazard}` },
      ...list.map((p) => ({ ...p, w: 8 })),
    ]),
    { row: 'The station' },
    {
      type: 'timeseries',
      title: 'All quantities',
      description:
        'Every field of the station’s readings, per sensor: what it reports and what the rules derive.',
      w: 24,
      targets: [
        flavour === 'influxdb'
          ? influx(
              `SELECT mean(*) FROM "reading" WHERE "station" = '$station' AND $timeFilter GROUP BY time($__interval), "sensor" fill(none)`,
              '$tag_sensor $col',
            )
          : prom(`{__name__=~"reading_.+", station="$station"}`, '{{sensor}} {{__name__}}'),
      ],
      fieldConfig: { defaults: { custom: { spanNulls: true } }, overrides: [] },
    },
    {
      type: 'state-timeline',
      title: 'Alert level by rule',
      description:
        'Each rule’s level at the station (alert transitions, event time): 0 none … 4 red; 1 and 2 also the enterprise alarm stages.',
      targets: [
        flavour === 'influxdb'
          ? influx(
              `SELECT last("level") FROM "alert" WHERE "station" = '$station' AND $timeFilter GROUP BY time($__interval), "rule" fill(previous)`,
              '$tag_rule',
            )
          : prom(`max by (rule) (last_over_time(alert_level{station="$station"}[1d]))`, '{{rule}}'),
      ],
      fieldConfig: { defaults: { mappings: LEVEL_MAPPINGS }, overrides: [] },
      options: { showValue: 'auto', mergeValues: true, rowHeight: 0.9 },
    },
    {
      type: 'state-timeline',
      title: 'Equipment faults',
      description: 'Each sensor’s faults (设备故障) raised and cleared, by fault.',
      targets: [
        flavour === 'influxdb'
          ? influx(
              `SELECT last("active") FROM "fault" WHERE "station" = '$station' AND $timeFilter GROUP BY time($__interval), "sensor", "fault" fill(previous)`,
              '$tag_sensor $tag_fault',
            )
          : prom(
              `max by (sensor, fault) (last_over_time(fault_active{station="$station"}[1d]))`,
              '{{sensor}} {{fault}}',
            ),
      ],
      fieldConfig: { defaults: { mappings: FAULT_MAPPINGS }, overrides: [] },
      options: { showValue: 'auto', mergeValues: true },
    },
  ]
  if (flavour === 'influxdb')
    panels.push(
      {
        type: 'table',
        title: 'Fault log',
        description: 'Faults raised (1) and cleared (0) with the fault monitor’s detail, newest first.',
        targets: [
          influx(
            `SELECT "active", "sensor", "fault", "detail" FROM "fault" WHERE "station" = '$station' AND $timeFilter ORDER BY time DESC LIMIT 200`,
            undefined,
            'table',
          ),
        ],
      },
      {
        type: 'table',
        title: 'Warnings raised from this station',
        description:
          'Each version released (issue 首报, update 续报, lift 终报), acknowledgement and escalation.',
        targets: [
          influx(
            `SELECT "action", "hazard", "region", "level", "version", "targets", "warning_id", "text" FROM "warning" WHERE "station" = '$station' AND $timeFilter ORDER BY time DESC LIMIT 200`,
            undefined,
            'table',
          ),
        ],
      },
    )
  return dashboard({
    uid: `shaobing-station-${flavour}`,
    title: `Shaobing 哨兵 · Station (${flavour === 'influxdb' ? 'InfluxDB' : 'VictoriaMetrics'})`,
    description: 'One station’s readings, window aggregates and thresholds, alerts, faults and warnings.',
    tags: ['shaobing', flavour, 'station'],
    variables: [
      queryVariable(
        'station',
        'Station',
        flavour,
        flavour === 'influxdb'
          ? 'SHOW TAG VALUES FROM "reading" WITH KEY = "station"'
          : 'label_values({__name__=~"reading_.+"}, station)',
      ),
    ],
    annotations: [
      flavour === 'influxdb'
        ? influxAnnotation('Warnings', 'red', {
            query: `SELECT "text", "hazard", "action", "region", "level" FROM "warning" WHERE "station" = '$station' AND $timeFilter`,
            textColumn: 'text',
            tagsColumn: 'hazard,action,region',
          })
        : promAnnotation('Warnings', 'red', {
            expr: 'max by (hazard, action, region) (warning_level{station="$station"})',
            step: '1m',
            titleFormat: '{{action}} {{hazard}}',
            tagKeys: 'hazard,action,region',
          }),
    ],
    panels: layout(panels, flavour),
  })
}
