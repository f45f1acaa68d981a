/**
 * Gateway operations, from the gateway's own `/metrics` (Prometheus text) scraped into
 * VictoriaMetrics: only the Prometheus flavour exists, InfluxDB holds none of it. Ingest and refusals,
 * the time from a warning version's decision to its first loudspeaker command, the SMS backlog, the
 * InfluxDB sink's outbox, lag, replay and drops, and the MQTT clients.
 */
import { MappingType, type Dashboard } from '@grafana/schema'
import { dashboard, layout, prom, type PanelSpec } from './builder.js'

const rate = (metric: string, by?: string) =>
  by !== undefined
    ? `sum by (${by}) (rate(${metric}[$__rate_interval]))`
    : `sum(rate(${metric}[$__rate_interval]))`

const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (le) (rate(shaobing_crossing_to_command_seconds_bucket[$__rate_interval])))`

export function operationsDashboard(): Dashboard {
  const panels: PanelSpec[] = [
    {
      type: 'timeseries',
      title: 'Ingest (messages/s)',
      description:
        'Messages received on sensors/+/+/data, readings accepted (validated, evaluated) and stored (committed).',
      targets: [
        prom(rate('shaobing_readings_received_total'), 'received'),
        prom(rate('shaobing_readings_accepted_total'), 'accepted'),
        prom(rate('shaobing_readings_stored_total'), 'stored'),
      ],
      fieldConfig: { defaults: { unit: 'reqps' }, overrides: [] },
    },
    {
      type: 'timeseries',
      title: 'Refusals by reason (messages/s)',
      description: 'Messages refused at ingest, by reason (each also a reading.refused event).',
      targets: [prom(rate('shaobing_readings_rejected_total', 'reason'), '{{reason}}')],
      fieldConfig: { defaults: { unit: 'reqps' }, overrides: [] },
    },
    {
      type: 'timeseries',
      title: 'Crossing → first loudspeaker command (p50, p99)',
      description:
        'From the decision of a warning version to its first loudspeaker command handed to the broker.',
      targets: [prom(quantile(0.5), 'p50'), prom(quantile(0.99), 'p99')],
      fieldConfig: { defaults: { unit: 's' }, overrides: [] },
    },
    {
      type: 'heatmap',
      title: 'Crossing → first loudspeaker command (distribution)',
      targets: [
        prom(
          'sum by (le) (increase(shaobing_crossing_to_command_seconds_bucket[$__rate_interval]))',
          '{{le}}',
          {
            format: 'heatmap',
          },
        ),
      ],
      options: {
        calculate: false,
        yAxis: { unit: 's' },
        cellGap: 1,
        color: { scheme: 'Oranges', mode: 'scheme' },
      },
    },
    {
      type: 'timeseries',
      title: 'SMS backlog and queued per second',
      description: 'SMS queued and not yet submitted to the SMSC; SMS queued per second.',
      targets: [
        prom('sum(shaobing_sms_backlog)', 'backlog'),
        prom(rate('shaobing_sms_queued_total'), 'queued/s'),
      ],
    },
    {
      type: 'timeseries',
      title: 'Loudspeaker commands (per s) and warnings active',
      targets: [
        prom(rate('shaobing_terminal_commands_total'), 'commands/s'),
        prom('sum(shaobing_warnings_active)', 'warnings active'),
        prom('sum(shaobing_sensor_faults_active)', 'sensor faults active'),
      ],
    },
    {
      type: 'timeseries',
      title: 'Sink outbox depth (points)',
      description: 'Points waiting in each sink’s outbox, readings and events apart.',
      targets: [prom('sum by (sink, class) (shaobing_sink_backlog_points)', '{{sink}} {{class}}')],
    },
    {
      type: 'timeseries',
      title: 'Sink lag and replay rate',
      description:
        'How far behind each sink writes (s), and the replay rate of its outbox after an outage (points/s).',
      targets: [
        prom('max by (sink) (shaobing_sink_lag_seconds)', '{{sink}} lag (s)'),
        prom('max by (sink) (shaobing_sink_replay_rate)', '{{sink}} replay (points/s)'),
      ],
    },
    {
      type: 'timeseries',
      title: 'Sink writes, drops and errors (per s)',
      targets: [
        prom(rate('shaobing_sink_points_written_total', 'sink, class'), '{{sink}} {{class}} written'),
        prom(
          rate('shaobing_sink_dropped_total', 'sink, class, reason'),
          '{{sink}} {{class}} dropped: {{reason}}',
        ),
        prom(rate('shaobing_sink_write_errors_total', 'sink, reason'), '{{sink}} error: {{reason}}'),
      ],
    },
    {
      type: 'state-timeline',
      title: 'Sink connected',
      targets: [prom('max by (sink) (shaobing_sink_connected)', '{{sink}}')],
      fieldConfig: {
        defaults: {
          mappings: [
            {
              type: MappingType.ValueToText,
              options: { '0': { text: 'down', color: 'red' }, '1': { text: 'connected', color: 'green' } },
            },
          ],
        },
        overrides: [],
      },
    },
    {
      type: 'timeseries',
      title: 'MQTT clients connected',
      targets: [prom('sum(shaobing_mqtt_clients_connected)', 'clients')],
    },
  ]
  return dashboard({
    uid: 'shaobing-operations-prometheus',
    title: 'Shaobing 哨兵 · Gateway operations (VictoriaMetrics)',
    description:
      'The gateway’s /metrics: ingest, refusals, crossing-to-command latency, SMS, sinks, MQTT clients.',
    tags: ['shaobing', 'prometheus', 'operations'],
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    panels: layout(panels, 'prometheus'),
  })
}
