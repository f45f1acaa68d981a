/**
 * County overview: warnings on the air by level, each active warning's reach (loudspeakers played
 * of targeted, by hazard and region), the versions released over time, and the faults. Queries
 * group by the tags they name, so tags the sink adds later (`rule`, `station`) change no series.
 */
import { StackingMode, type Dashboard } from '@grafana/schema'
import {
  FAULT_MAPPINGS,
  LEVEL_COLOURS,
  dashboard,
  influx,
  influxAnnotation,
  layout,
  prom,
  promAnnotation,
  thresholds,
  type Flavour,
  type PanelSpec,
} from './builder.js'

/** A series per level (named as the level in both flavours), coloured as the level. */
const levelColours = () =>
  Object.entries(LEVEL_COLOURS).map(([level, color]) => ({
    matcher: { id: 'byName', options: level },
    properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }],
  }))

/** The coverage fields (lines.ts): loudspeakers targeted, reached (answered at all), played, failed, offline, unanswered. */
const COVERAGE_FIELDS = ['targeted', 'reached', 'played', 'failed', 'offline', 'unanswered', 'ratio'] as const

export function countyDashboard(flavour: Flavour): Dashboard {
  const isInflux = flavour === 'influxdb'
  const panels: PanelSpec[] = [
    {
      type: 'timeseries',
      title: 'Active warnings by level',
      description:
        'Warnings on the air, per level (the sink’s snapshots; every level written, zeros included).',
      w: 16,
      targets: [
        isInflux
          ? influx(
              'SELECT last("count") FROM "warnings_active" WHERE $timeFilter GROUP BY time($__interval), "level" fill(previous)',
              '$tag_level',
            )
          : prom('max by (level) (warnings_active_count)', '{{level}}'),
      ],
      fieldConfig: {
        defaults: {
          custom: { stacking: { mode: StackingMode.Normal, group: 'A' }, fillOpacity: 40, spanNulls: true },
        },
        overrides: levelColours(),
      },
    },
    {
      type: 'stat',
      title: 'On the air now',
      w: 8,
      targets: [
        isInflux
          ? influx(
              'SELECT last("count") FROM "warnings_active" WHERE $timeFilter GROUP BY "level"',
              '$tag_level',
            )
          : prom('max by (level) (last_over_time(warnings_active_count[$__range]))', '{{level}}', {
              instant: true,
            }),
      ],
      fieldConfig: { defaults: {}, overrides: levelColours() },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
      },
    },
    {
      type: 'bargauge',
      title: 'Coverage: loudspeakers played of targeted',
      description: 'Each active warning’s latest reach, by hazard and region (played ÷ targeted).',
      targets: [
        isInflux
          ? influx(
              'SELECT last("ratio") FROM "coverage" WHERE $timeFilter GROUP BY "hazard", "region"',
              '$tag_hazard $tag_region',
            )
          : prom(
              'max by (hazard, region) (last_over_time(coverage_ratio[$__range]))',
              '{{hazard}} {{region}}',
              {
                instant: true,
              },
            ),
      ],
      fieldConfig: {
        defaults: {
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: thresholds([
            { value: 0, color: 'red' },
            { value: 0.8, color: 'orange' },
            { value: 0.95, color: 'green' },
          ]),
        },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        orientation: 'horizontal',
        displayMode: 'gradient',
      },
    },
    {
      type: 'table',
      title: 'Coverage per warning',
      description:
        'Targets, commands sent, played, failed, offline terminals and SMS delivered, by hazard, region and level.',
      targets: isInflux
        ? [
            influx(
              `SELECT ${[...COVERAGE_FIELDS, 'warning_id'].map((f) => `last("${f}") AS "${f}"`).join(', ')} FROM "coverage" WHERE $timeFilter GROUP BY "hazard", "region", "level"`,
              undefined,
              'table',
            ),
          ]
        : COVERAGE_FIELDS.map((f) =>
            prom(`max by (hazard, region, level) (last_over_time(coverage_${f}[$__range]))`, f, {
              instant: true,
              format: 'table',
            }),
          ),
      transformations: isInflux
        ? []
        : [
            { id: 'merge', options: {} },
            {
              id: 'organize',
              options: {
                excludeByName: { Time: true },
                renameByName: Object.fromEntries(
                  COVERAGE_FIELDS.map((f, i) => [`Value #${String.fromCharCode(65 + i)}`, f]),
                ),
              },
            },
          ],
    },
    {
      type: 'timeseries',
      title: 'Warning versions released',
      description: 'Versions going out per 10 minutes: issue 首报, update 续报, lift 终报.',
      interval: '10m',
      targets: [
        isInflux
          ? influx(
              `SELECT count("level") FROM "warning" WHERE "action" =~ /^(issue|update|lift)$/ AND $timeFilter GROUP BY time($__interval), "action" fill(0)`,
              '$tag_action',
            )
          : prom(
              'sum by (action) (count_over_time(warning_level{action=~"issue|update|lift"}[$__interval]))',
              '{{action}}',
            ),
      ],
      fieldConfig: {
        defaults: {
          custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: StackingMode.Normal, group: 'A' } },
        },
        overrides: [],
      },
    },
    {
      type: 'table',
      title: 'Equipment faults',
      description: 'Each sensor’s latest fault state in the range (1 raised, 0 cleared).',
      targets: [
        isInflux
          ? influx(
              'SELECT last("active") AS "active" FROM "fault" WHERE $timeFilter GROUP BY "station", "sensor", "fault"',
              undefined,
              'table',
            )
          : prom('max by (station, sensor, fault) (last_over_time(fault_active[$__range]))', undefined, {
              instant: true,
              format: 'table',
            }),
      ],
      fieldConfig: { defaults: { mappings: FAULT_MAPPINGS }, overrides: [] },
    },
  ]
  if (isInflux)
    panels.push({
      type: 'table',
      title: 'Warning log',
      description: 'Every version, acknowledgement and escalation, newest first, with its text.',
      w: 24,
      targets: [
        influx(
          `SELECT "action", "status", "hazard", "region", "station", "level", "version", "targets", "warning_id", "text" FROM "warning" WHERE $timeFilter ORDER BY time DESC LIMIT 500`,
          undefined,
          'table',
        ),
      ],
    })
  return dashboard({
    uid: `shaobing-county-${flavour}`,
    title: `Shaobing 哨兵 · County overview (${isInflux ? 'InfluxDB' : 'VictoriaMetrics'})`,
    description: 'Warnings on the air by level, their coverage, versions released and equipment faults.',
    tags: ['shaobing', flavour, 'county'],
    annotations: [
      isInflux
        ? influxAnnotation('Warnings released', 'red', {
            query: `SELECT "text", "hazard", "action", "region" FROM "warning" WHERE "action" =~ /^(issue|update|lift)$/ AND $timeFilter`,
            textColumn: 'text',
            tagsColumn: 'hazard,action,region',
          })
        : promAnnotation('Warnings released', 'red', {
            expr: 'max by (hazard, action, region) (warning_level{action=~"issue|update|lift"})',
            step: '1m',
            titleFormat: '{{action}} {{hazard}} {{region}}',
            tagKeys: 'hazard,action,region',
          }),
    ],
    panels: layout(panels, flavour),
  })
}
