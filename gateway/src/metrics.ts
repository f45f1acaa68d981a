/** Prometheus metrics (prom-client), one registry per gateway instance so tests can run several. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Gauges read when scraped; the app points them at what owns the figure. */
export interface MetricSources {
  smsBacklog: () => number
  /** Brings the history sinks' backlog, lag and replay rate up to date (they also move during an outage). */
  sinks: () => void
}

export function createMetrics() {
  const registry = new Registry()
  const sources: MetricSources = { smsBacklog: () => 0, sinks: () => {} }
  collectDefaultMetrics({ register: registry, prefix: 'shaobing_' })
  const m = {
    registry,
    sources,
    eventLoopStalls: new Counter({
      name: 'shaobing_event_loop_stalls_total',
      help: 'Times the event loop was blocked for 2 s or more (the watchdog timer fired that late)',
      registers: [registry],
    }),
    eventLoopLastStall: new Gauge({
      name: 'shaobing_event_loop_last_stall_seconds',
      help: 'How long the last event-loop stall lasted',
      registers: [registry],
    }),
    listenerUp: new Gauge({
      name: 'shaobing_mqtt_listener_up',
      help: 'Whether an MQTT listener accepts connections (1) or died and is being listened again (0)',
      labelNames: ['listener'],
      registers: [registry],
    }),
    listenerRestarts: new Counter({
      name: 'shaobing_mqtt_listener_restarts_total',
      help: 'MQTT listeners listened again after they died',
      labelNames: ['listener'],
      registers: [registry],
    }),
    clockStepsBack: new Counter({
      name: 'shaobing_clock_steps_back_total',
      help: 'Times the wall clock stepped back (the gateway kept counting from where it was)',
      registers: [registry],
    }),
    readingsReceived: new Counter({
      name: 'shaobing_readings_received_total',
      help: 'Messages received on sensors/+/+/data, before validation',
      registers: [registry],
    }),
    readingsAccepted: new Counter({
      name: 'shaobing_readings_accepted_total',
      help: 'Readings that passed validation and were evaluated',
      registers: [registry],
    }),
    readingsStored: new Counter({
      name: 'shaobing_readings_stored_total',
      help: 'Readings committed to the store',
      registers: [registry],
    }),
    readingsDuplicate: new Counter({
      name: 'shaobing_readings_duplicate_total',
      help: 'Copies of readings already stored (QoS 1 resends after a lost acknowledgement), not stored again',
      registers: [registry],
    }),
    readingsRejected: new Counter({
      name: 'shaobing_readings_rejected_total',
      help: 'Messages refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    readingsLate: new Counter({
      name: 'shaobing_readings_late_total',
      help: 'Readings stored but not evaluated because they were older than the station latest',
      registers: [registry],
    }),
    faultValues: new Counter({
      name: 'shaobing_reading_values_faulty_total',
      help: 'Quantities left out of evaluation as equipment faults: outside their plausible range or spiking',
      labelNames: ['kind', 'quantity'],
      registers: [registry],
    }),
    storeBatches: new Histogram({
      name: 'shaobing_store_batch_size',
      help: 'Readings per group commit',
      buckets: [1, 10, 100, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'shaobing_store_errors_total',
      help: 'Failed group commits',
      registers: [registry],
    }),
    transitions: new Counter({
      name: 'shaobing_warning_transitions_total',
      help: 'Warning versions created, by action and level',
      labelNames: ['action', 'level'],
      registers: [registry],
    }),
    activeWarnings: new Gauge({
      name: 'shaobing_warnings_active',
      help: 'Warnings currently active',
      registers: [registry],
    }),
    smsQueued: new Counter({
      name: 'shaobing_sms_queued_total',
      help: 'SMS messages queued (one per recipient and message, after deduplication)',
      registers: [registry],
    }),
    smsOutcomes: new Counter({
      name: 'shaobing_sms_outcomes_total',
      help: 'SMS events: submitted, retry, failed, capped, delivered_part, undelivered, reply, receipt_early (a receipt before its message id), receipt_early_applied, receipt_unmatched (an early receipt whose id never came)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    smscBound: new Gauge({
      name: 'shaobing_smsc_bound',
      help: '1 while bound to the SMSC as transceiver',
      registers: [registry],
    }),
    callouts: new Counter({
      name: 'shaobing_callouts_total',
      help: '叫应 call-and-answer events: called, resent, answered, escalated',
      labelNames: ['event'],
      registers: [registry],
    }),
    firstPlayback: new Histogram({
      name: 'shaobing_time_to_first_playback_seconds',
      help: 'From a warning version going out to the first loudspeaker reporting it played',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    playback95: new Histogram({
      name: 'shaobing_time_to_95pct_playback_seconds',
      help: 'From a warning version going out to 95 % of its targeted loudspeakers reporting it played',
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    deliveryRetries: new Counter({
      name: 'shaobing_delivery_retries_total',
      help: 'Loudspeaker commands sent again: no receipt, failed, or the terminal came back online',
      registers: [registry],
    }),
    terminalPresence: new Counter({
      name: 'shaobing_terminal_presence_total',
      help: 'Terminal status messages, by state (online, offline)',
      labelNames: ['state'],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'shaobing_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome (delivered, retry, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    capIntake: new Counter({
      name: 'shaobing_cap_intake_total',
      help: 'Upstream CAP alerts received, by outcome (issue, update, cancel, refused, not_here)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    alertsSilenced: new Counter({
      name: 'shaobing_alerts_silenced_total',
      help: 'Alerts muted by a silence (maintenance window); each is on /api/alerts with its silence',
      registers: [registry],
    }),
    flaps: new Counter({
      name: 'shaobing_warning_flaps_total',
      help: 'Flapping episodes detected: steps down held',
      registers: [registry],
    }),
    escalations: new Counter({
      name: 'shaobing_warning_escalations_total',
      help: 'Unacknowledged warnings escalated, by tier reached (1 township, 2 county)',
      labelNames: ['tier'],
      registers: [registry],
    }),
    terminalCommands: new Counter({
      name: 'shaobing_terminal_commands_total',
      help: 'Commands published to loudspeaker terminals',
      registers: [registry],
    }),
    terminalReceipts: new Counter({
      name: 'shaobing_terminal_receipts_total',
      help: 'Receipts from loudspeaker terminals, by state',
      labelNames: ['state'],
      registers: [registry],
    }),
    faultsActive: new Gauge({
      name: 'shaobing_sensor_faults_active',
      help: 'Equipment faults (no data, out of range) currently active, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    faultTransitions: new Counter({
      name: 'shaobing_sensor_fault_transitions_total',
      help: 'Equipment faults raised and cleared, by kind',
      labelNames: ['kind', 'change'],
      registers: [registry],
    }),
    reloads: new Counter({
      name: 'shaobing_config_reloads_total',
      help: 'Configuration reloads, by outcome (applied | refused)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    mqttClients: new Gauge({
      name: 'shaobing_mqtt_clients_connected',
      help: 'MQTT clients connected to the embedded broker',
      registers: [registry],
    }),
    mqttAuth: new Counter({
      name: 'shaobing_mqtt_auth_total',
      help: 'MQTT connection attempts by result (accepted | refused) and how (password | certificate | anonymous) or why refused',
      labelNames: ['result', 'reason'],
      registers: [registry],
    }),
    mqttDenied: new Counter({
      name: 'shaobing_mqtt_denied_total',
      help: 'MQTT publishes, subscriptions and wills refused by the topic ACLs, by action and reason',
      labelNames: ['action', 'reason'],
      registers: [registry],
    }),
    mqttLimited: new Counter({
      name: 'shaobing_mqtt_limited_total',
      help: 'MQTT abuse limits met: messages paced (messages | bytes), connections refused (connections | connect_rate), clients cut off (packet_size), keepalives held (keepalive)',
      labelNames: ['limit'],
      registers: [registry],
    }),
    operatorLogins: new Counter({
      name: 'shaobing_operator_login_total',
      help: 'Password logins by outcome: success, refused (unknown user, wrong password, disabled), locked (refused while locked out)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    operatorLockouts: new Counter({
      name: 'shaobing_operator_lockouts_total',
      help: 'Operator accounts locked after repeated wrong passwords',
      registers: [registry],
    }),
    crossingToCommand: new Histogram({
      name: 'shaobing_crossing_to_command_seconds',
      help: 'From the pass that decided a version released at once (for an automatic warning, the reading that crossed) to its loudspeaker commands handed to the broker',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    smsBacklog: new Gauge({
      name: 'shaobing_sms_backlog',
      help: 'SMS queued for the SMSC and not yet submitted',
      registers: [registry],
      collect() {
        this.set(sources.smsBacklog())
      },
    }),
    sinkBacklog: new Gauge({
      name: 'shaobing_sink_backlog_points',
      help: 'Points a history sink has not yet had accepted: readings behind its cursor, events and snapshots in its outbox',
      labelNames: ['sink', 'class'],
      registers: [registry],
      // Registered before the lag and the replay rate, which this sets too.
      collect() {
        sources.sinks()
      },
    }),
    sinkLag: new Gauge({
      name: 'shaobing_sink_lag_seconds',
      help: 'How long the oldest point a history sink has not yet had accepted has waited (0 when caught up)',
      labelNames: ['sink'],
      registers: [registry],
    }),
    sinkWritten: new Counter({
      name: 'shaobing_sink_points_written_total',
      help: 'Points a history sink had accepted by its server, by class (reading, event, snapshot)',
      labelNames: ['sink', 'class'],
      registers: [registry],
    }),
    sinkDropped: new Counter({
      name: 'shaobing_sink_dropped_total',
      help: 'Points a history sink gave up: readings thinned beyond the backlog bound, snapshots beyond the outbox bound, lines the server refused as malformed',
      labelNames: ['sink', 'class', 'reason'],
      registers: [registry],
    }),
    sinkWriteErrors: new Counter({
      name: 'shaobing_sink_write_errors_total',
      help: 'Write requests a history sink has to send again, by reason (unreachable, timeout, http_<status>)',
      labelNames: ['sink', 'reason'],
      registers: [registry],
    }),
    sinkReplayRate: new Gauge({
      name: 'shaobing_sink_replay_rate',
      help: 'Points per second a history sink had accepted over the last 10 seconds',
      labelNames: ['sink'],
      registers: [registry],
    }),
    sinkConnected: new Gauge({
      name: 'shaobing_sink_connected',
      help: '1 when a history sink last wrote successfully, 0 after a failed write',
      labelNames: ['sink'],
      registers: [registry],
    }),
    storeUsedBytes: new Gauge({
      name: 'shaobing_store_used_bytes',
      help: 'SQLite pages in use by the embedded store (what the disk budget counts)',
      registers: [registry],
    }),
    storeFileBytes: new Gauge({
      name: 'shaobing_store_file_bytes',
      help: 'Size of the store files on disk (database and WAL)',
      registers: [registry],
    }),
    diskFreeBytes: new Gauge({
      name: 'shaobing_disk_free_bytes',
      help: "Free space for the store: its filesystem's available bytes plus SQLite's free pages",
      registers: [registry],
    }),
    storeFull: new Gauge({
      name: 'shaobing_store_full',
      help: '1 while the store is at its disk budget and refuses new readings, else 0',
      registers: [registry],
    }),
    readingsRefusedFull: new Counter({
      name: 'shaobing_readings_refused_store_full_total',
      help: 'Readings not acknowledged because the store was at its disk budget (the device sends them again)',
      registers: [registry],
    }),
    retentionFolded: new Counter({
      name: 'shaobing_retention_folded_total',
      help: 'Raw readings past their retention folded into downsampled buckets and deleted, by pass (normal, tight: the budget reached)',
      labelNames: ['pass'],
      registers: [registry],
    }),
    retentionBucketsDropped: new Counter({
      name: 'shaobing_retention_buckets_dropped_total',
      help: 'Downsampled buckets past their own retention, dropped',
      registers: [registry],
    }),
    sl651Connections: new Gauge({
      name: 'shaobing_sl651_connections',
      help: 'RTU connections open on the SL 651 listener',
      registers: [registry],
    }),
    sl651Frames: new Counter({
      name: 'shaobing_sl651_frames_total',
      help: 'SL 651 frames accepted (CRC, header, station address and password good), by function code',
      labelNames: ['function'],
      registers: [registry],
    }),
    sl651Refused: new Counter({
      name: 'shaobing_sl651_refused_total',
      help: 'SL 651 frames, messages and elements refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    sl651Duplicates: new Counter({
      name: 'shaobing_sl651_duplicates_total',
      help: 'SL 651 reports received again after a lost confirmation: confirmed again, not stored again',
      registers: [registry],
    }),
    sl651Replies: new Counter({
      name: 'shaobing_sl651_replies_total',
      help: 'Downlink confirmations sent to RTUs, by end character (EOT, ESC, ACK, NAK)',
      labelNames: ['end'],
      registers: [registry],
    }),
    sl651Missing: new Counter({
      name: 'shaobing_sl651_missing_values_total',
      help: 'Element values an RTU reported as missing (FF…, M): not stored',
      registers: [registry],
    }),
  }
  return m
}
export type Metrics = ReturnType<typeof createMetrics>
