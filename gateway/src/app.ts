/**
 * Composition root: the one place the whole flow is visible.
 *
 *   broker ─▶ ingest (validate) ─▶ rules engine ─▶ warning manager ─▶ loudspeakers (MQTT)
 *                     └────────▶ reading store (SQLite, group commit) ─▶ PUBACK
 */
import { createPublicKey } from 'node:crypto'
import type { Server as TlsServer } from 'node:tls'
import type { Logger } from 'pino'
import { durationMs, formatFileIssue, type FileIssue, type Transition } from '../../rules/src/index.js'
import { brokerLimits, startBroker, tlsOptions, type RunningBroker } from './broker/broker.js'
import { buildApi, type RouteAccess } from './api/server.js'
import { LoudspeakerChannel } from './channels/loudspeaker/channel.js'
import { loadConfig, loadConfigOrThrow, type ConfigOverrides, type LoadedConfig } from './config/load.js'
import { ErrorCode, GatewayError } from './core/errors.js'
import { ok, type Result } from './core/result.js'
import { FaultMonitor } from './faults/monitor.js'
import { createIngest } from './ingest/pipeline.js'
import { createReadingIntake } from './ingest/reading.js'
import { Sl651Listener } from './sl651/listener.js'
import type { Reading } from './store/readings.js'
import { createMetrics } from './metrics.js'
import { chooseLogFormat, createLogger } from './logging.js'
import { startCheckpointer } from './store/checkpointer.js'
import { dbFile, openDb } from './store/db.js'
import { ReadingStore } from './store/readings.js'
import { Retention, StorageBudget } from './store/retention.js'
import { InfluxSink } from './sinks/influx/sink.js'
import type { HistorySink } from './sinks/sink.js'
import { AlertManager } from './alerting/manager.js'
import { approvalPolicy, approvalsNeeded } from './alerting/approve.js'
import { CalloutChannel } from './channels/callout/channel.js'
import { SmsChannel } from './channels/sms/channel.js'
import { steadyClock } from './core/clock.js'
import { startWatchdog } from './watchdog.js'
import { WarningTopicChannel } from './channels/warning-topic/channel.js'
import { WebhookChannel } from './channels/webhook/channel.js'
import type { Channel } from './dissemination/channel.js'
import { Dispatcher } from './dissemination/dispatcher.js'
import { EventBus } from './events/bus.js'
import { queriesOf, type WarningQueries } from './api/queries.js'
import type { GatewayEvent } from './events/types.js'
import { storesOf } from './store/index.js'
import { buildRuntime } from './runtime.js'
import { CommandSigner, keyId } from './contracts/command-signing.js'
import { loadOrCreateSigningKey, SIGNING_PUBLIC_FILE } from './security/command-signing.js'
import { DeviceGuard } from './security/devices.js'
import { insecureSettings } from './security/defaults.js'
import { DeviceStore } from './store/devices.js'
import { OperatorService, policyOf, readsNeedViewer } from './security/operators.js'
import { OperatorStore } from './store/operators.js'
import { startNodeRed, type EmbeddedNodeRed } from './nodered/embedded.js'

export interface StartOptions {
  readonly configPath: string
  readonly overrides?: ConfigOverrides
  /** Root logger; by default pino to stdout at the configured level, in `logFormat`. */
  readonly logger?: Logger
  /** `json` or `pretty`; by default `SHAOBING_LOG_FORMAT`, else pretty exactly when stdout is a terminal. */
  readonly logFormat?: string | undefined
  /** Wall clock for delivery times and expiry (tests pass a controlled one). */
  readonly now?: () => number
  /** `shaobing demo`: its own demo identities and operators are expected, not refused. */
  readonly demo?: boolean
}

export interface RunningGateway {
  readonly ports: {
    readonly mqtt: number | null
    readonly ws: number | null
    readonly mqtts: number | null
    readonly wss: number | null
    readonly http: number
    /** The embedded Node-RED's, when `nodeRed.enabled`. */
    readonly nodeRed: number | null
    /** The SL 651 listener's, when `sl651.port` is set. */
    readonly sl651: number | null
  }
  /** mqtt is the plain listener's URL, or the MQTTS one when plain MQTT is off. */
  readonly urls: {
    readonly mqtt: string
    readonly ws: string | null
    readonly mqtts: string | null
    readonly wss: string | null
    readonly http: string
    /** The embedded Node-RED editor, when `nodeRed.enabled`. */
    readonly nodeRed: string | null
    /** `tcp://host:port` of the SL 651 listener, when `sl651.port` is set. */
    readonly sl651: string | null
  }
  readonly loaded: LoadedConfig
  readonly log: Logger
  /** Every HTTP route and who may call it (a role, open, or a read). */
  readonly routes: readonly RouteAccess[]
  /** The warnings as the API reads them (versions, pending approvals, coverage). */
  readonly warnings: WarningQueries
  /** Hears every committed event; returns the function that stops listening. */
  listen(l: (e: GatewayEvent) => void): () => void
  /**
   * Re-reads the configuration, registry and catalogues; validates all of it and builds the new
   * runtime before swapping it in. On any problem nothing changes and the issues are returned.
   * Listener addresses, data directory and store settings need a restart.
   */
  reload(): Result<{ stations: number; terminals: number; rules: number }, FileIssue[]>
  stop(): Promise<void>
}

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const loaded = loadConfigOrThrow(opts.configPath, opts.overrides)
  const { config } = loaded
  const log =
    opts.logger ??
    createLogger({ level: config.log.level, format: chooseLogFormat({ option: opts.logFormat }) })
  // A wall clock stepped back is not followed backward (core/clock.ts): the deadlines stay true.
  const now = steadyClock(opts.now ?? Date.now, (stepMs, from, to) => {
    metrics.clockStepsBack.inc()
    log.warn({ component: 'clock', stepMs, from, to }, 'wall clock stepped back')
  })
  for (const w of loaded.warnings) log.warn({ component: 'config' }, w)
  for (const n of loaded.notices) log.info({ component: 'config' }, n)

  const metrics = createMetrics()
  const db = openDb({ dataDir: config.dataDir, synchronous: config.store.synchronous })
  const devices = new DeviceStore(db)
  const operatorStore = new OperatorStore(db)
  // Safe defaults: an insecure setting the site has not accepted by name refuses the start.
  const found = insecureSettings(config, {
    demo: opts.demo ?? false,
    demoDevices: devices.demoCount(),
    demoOperators: operatorStore.demoAccounts(),
  })
  const accepted = new Set<string>(config.security.acceptInsecure)
  const insecure = found.filter((i) => !accepted.has(i.setting))
  for (const i of found)
    if (accepted.has(i.setting))
      log.warn({ setting: i.setting, why: i.why }, 'running with an insecure setting')
  if (insecure.length > 0) {
    db.close()
    throw new GatewayError(
      ErrorCode.CONFIG_INVALID,
      `refusing to start with insecure settings:\n${insecure.map((i) => `  ${i.setting}: ${i.why}`).join('\n')}\n` +
        'fix them, or accept each deliberately with security.acceptInsecure: [<setting>]',
    )
  }
  const checkpointer = startCheckpointer(
    db,
    dbFile(config.dataDir),
    durationMs(config.store.checkpointEvery),
    (message) =>
      log.error(
        { component: 'store', err: message },
        'WAL checkpoint failed; automatic checkpoints are back on',
      ),
  )
  const store = new ReadingStore(db, {
    batchMaxMessages: config.store.batchMaxMessages,
    batchMaxDelayMs: config.store.batchMaxDelayMs,
    now,
    onCommit: (stored, duplicates) => {
      metrics.readingsStored.inc(stored)
      if (stored > 0) sink?.committed(stored)
      if (duplicates > 0) metrics.readingsDuplicate.inc(duplicates)
      metrics.storeBatches.observe(stored + duplicates)
    },
    onError: (e, n) => {
      metrics.storeErrors.inc()
      log.error({ component: 'store', err: e, readings: n }, 'group commit failed; readings not acknowledged')
    },
    refuse: () => {
      const why = budget.refusal()
      if (why !== undefined) metrics.readingsRefusedFull.inc()
      return why
    },
  })
  const stores = storesOf(db)
  const bus = new EventBus(stores.events, now, log)
  const emit = bus.emit

  let runtime = buildRuntime(loaded, store, stores.alerts)
  const current = () => runtime

  // History beside the embedded store: what the server has not accepted waits in SQLite.
  const queries = queriesOf(stores)
  const influx = config.sinks.influx
  const sink: HistorySink | undefined = influx
    ? new InfluxSink({
        db,
        config: influx,
        token: loaded.influxToken,
        runtime: current,
        warnings: stores.warnings,
        coverage: queries.coverage,
        metrics,
        log,
        now,
      })
    : undefined
  if (sink) bus.subscribe(sink.onEvent)

  // The broker starts after the channels exist, and they publish through the broker: these
  // closures are only called once both exist.
  const publish = (topic: string, payload: string, o: { qos: 0 | 1; retain?: boolean }) =>
    broker.publish(topic, payload, o)
  const faults = new FaultMonitor({
    db,
    runtime: current,
    metrics,
    log,
    now,
    publish,
    emit,
    limits: {
      batteryLowPct: config.faults.batteryLowPct,
      clockAheadMs: config.faults.clockAhead === 'off' ? undefined : durationMs(config.faults.clockAhead),
      clockBehindMs: config.faults.clockBehind === 'off' ? undefined : durationMs(config.faults.clockBehind),
    },
  })

  // Alerting decides; it knows no channel. What it releases is an event.
  const warnings = new AlertManager({
    stores,
    runtime: current,
    stationFaulty: (id) => faults.stationFaulty(id),
    emit,
    metrics,
    log,
    now,
    config: config.warnings,
  })

  // The ways out. Each implements the one Channel interface; the dispatcher resolves the targets
  // of every released version once and hands it to the channels its policy names.
  // Every loudspeaker command is signed; the key is made on first start and re-read on reload.
  const signingKey = loadOrCreateSigningKey(config.dataDir)
  const signer = new CommandSigner(signingKey.key)
  log.info(
    { component: 'security', kid: signer.kid, created: signingKey.created, publicKey: SIGNING_PUBLIC_FILE },
    'loudspeaker commands are signed (Ed25519)',
  )
  const loudspeakers = new LoudspeakerChannel({
    publish,
    signer,
    deliveries: stores.deliveries,
    warnings: stores.warnings,
    runtime: current,
    config: config.warnings,
    emit,
    atomically: stores.atomically,
    metrics,
    log: log.child({ component: 'loudspeaker' }),
    now,
  })
  const sms = config.sms
    ? new SmsChannel({
        db,
        config: { ...config.sms, retryAfterMs: durationMs(config.sms.retryAfter) },
        metrics,
        log,
        now,
        emit,
        onReply: (phone, text) => callouts.reply(phone, text),
      })
    : undefined
  const callouts = new CalloutChannel({
    db,
    warnings: stores.warnings,
    audit: stores.audit,
    runtime: current,
    sms,
    config: config.callout,
    emit,
    metrics,
    log,
    now,
  })
  const webhooks =
    config.webhooks.targets.length > 0
      ? new WebhookChannel({
          db,
          targets: config.webhooks.targets,
          maxAttempts: config.webhooks.maxAttempts,
          retryAfterMs: durationMs(config.webhooks.retryAfter),
          metrics,
          log,
          now,
        })
      : undefined
  const channels: Channel[] = [
    callouts,
    ...(sms ? [sms] : []),
    ...(webhooks ? [webhooks] : []),
    loudspeakers,
    new WarningTopicChannel({ publish, log: log.child({ component: 'warnings' }) }),
  ]
  bus.subscribe(new Dispatcher({ warnings: stores.warnings, runtime: current, channels, log }).onEvent)
  let operators = config.operators
  let operatorPolicy = policyOf(config.security.operators)
  const accounts = new OperatorService({
    store: operatorStore,
    audit: (...entry) => stores.audit.audit(...entry),
    now,
    policy: () => operatorPolicy,
    configOperators: () => operators,
    onLogin: (outcome) => metrics.operatorLogins.labels(outcome).inc(),
    onLockout: () => metrics.operatorLockouts.inc(),
  })
  // Decided once: the listener's address needs a restart to change.
  const needViewer = readsNeedViewer(config.http)

  // Bounded history and the disk budget (store/retention.ts).
  const periods = (c: typeof config) => ({
    rawMs: durationMs(c.store.retention.raw),
    everyMs: durationMs(c.store.retention.downsampleEvery),
    downsampledMs: durationMs(c.store.retention.downsampled),
  })
  const MB = 1024 * 1024
  const limits = (c: typeof config) => ({
    maxBytes: c.store.budget.maxMb !== undefined ? c.store.budget.maxMb * MB : undefined,
    minFreeBytes: c.store.budget.minFreeMb * MB,
    reserveBytes: c.store.budget.reserveMb * MB,
  })
  const retention = new Retention(db, dbFile(config.dataDir), {
    ...periods(config),
    lookbackMs: () => current().engine.maxLookbackMs,
    sinkCursor: () => sink?.readingCursor,
    now,
  })
  const storeLog = log.child({ component: 'store' })
  const budget = new StorageBudget(retention, {
    ...limits(config),
    tightPass: () => retain(true),
    onChange: (state, usage, why) => {
      metrics.storeFull.set(state === 'full' ? 1 : 0)
      if (state === 'full')
        storeLog.error(
          { ...usage, why },
          'store at its disk budget: new readings are refused until space returns',
        )
      else storeLog.warn({ ...usage }, 'store below its disk budget again: readings are accepted')
    },
  })
  const measure = () => {
    const u = budget.last ?? retention.usage()
    metrics.storeUsedBytes.set(u.usedBytes)
    metrics.storeFileBytes.set(u.fileBytes)
    metrics.diskFreeBytes.set(u.freeBytes)
  }
  // One pass of each kind at a time: a pass slower than its period is not stacked on itself.
  const retaining = new Map<boolean, Promise<void>>()
  const retain = (tight: boolean): Promise<void> => {
    const running = retaining.get(tight)
    if (running) return running
    const run = retention
      .pass(tight)
      .then((r) => {
        if (r.folded > 0) metrics.retentionFolded.labels(tight ? 'tight' : 'normal').inc(r.folded)
        if (r.droppedBuckets > 0) metrics.retentionBucketsDropped.inc(r.droppedBuckets)
        if (r.unsent > 0 && sink) metrics.sinkDropped.labels(sink.name, 'reading', 'retention').inc(r.unsent)
        if (r.folded > 0 || r.droppedBuckets > 0) storeLog.info(r, 'retention pass')
      })
      .catch((e: unknown) => storeLog.error({ err: e }, 'retention pass failed'))
      .finally(() => retaining.delete(tight))
    retaining.set(tight, run)
    return run
  }
  const checkBudget = () =>
    budget
      .check()
      .then(measure)
      .catch((e: unknown) => storeLog.error({ err: e }, 'disk budget check failed'))
  // Both on the wall clock; a reload that changes their periods restarts them.
  let retentionTimer: NodeJS.Timeout | undefined
  let budgetTimer: NodeJS.Timeout | undefined
  const storageTimers = (c: typeof config) => {
    clearInterval(retentionTimer)
    clearInterval(budgetTimer)
    retentionTimer = setInterval(() => void retain(false), durationMs(c.store.retention.checkEvery))
    retentionTimer.unref()
    budgetTimer = setInterval(() => void checkBudget(), durationMs(c.store.budget.checkEvery))
    budgetTimer.unref()
  }
  storageTimers(config)
  await checkBudget()

  // If a listener cannot start, release what was opened so the caller can report and exit cleanly.
  // In the order they were opened; closed in reverse.
  const opened: (() => Promise<void> | void)[] = [
    async () => {
      await checkpointer.stop()
      db.close()
    },
    () => store.close(),
    () => faults.stop(),
    () => clearInterval(ticker),
    () => clearInterval(retentionTimer),
    () => clearInterval(budgetTimer),
  ]
  let ticker: NodeJS.Timeout | undefined = undefined
  const failStart = async (e: unknown): Promise<never> => {
    for (const close of opened.reverse()) await close()
    throw e
  }
  const guard = config.security.devices.authenticate
    ? new DeviceGuard({
        devices,
        runtime: current,
        allowAnonymous: config.security.devices.allowAnonymous,
        log,
        now,
        onAccepted: (via) => metrics.mqttAuth.labels('accepted', via).inc(),
        onRefused: (reason) => metrics.mqttAuth.labels('refused', reason).inc(),
        onDenied: (action, reason) => metrics.mqttDenied.labels(action, reason).inc(),
      })
    : undefined
  // One way in for readings, whatever protocol brings them: MQTT (below) and SL 651.
  const readingDeps = {
    runtime: current,
    maxPayload: config.mqtt.maxPayload,
    faults,
    store,
    metrics,
    log,
    keepAggregates: sink !== undefined,
    onTransitions: (transitions: readonly Transition[], reading: Reading) => {
      sink?.transitions(transitions, reading.kind)
      warnings
        .apply(transitions)
        .catch((e: unknown) => log.error({ component: 'warnings', err: e }, 'transition failed'))
    },
  }
  const onRefused = (r: {
    reason: string
    source: string
    topic: string
    detail: string
    suppressed: number
  }) => {
    emit({ type: 'reading.refused', data: r }).catch((e: unknown) =>
      log.error({ component: 'events', err: e }, 'refusal not recorded'),
    )
  }
  const broker: RunningBroker = await startBroker({
    guard,
    host: config.mqtt.host,
    port: config.mqtt.port,
    wsPort: config.mqtt.wsPort,
    tls: config.mqtt.tls,
    log: log.child({ component: 'broker' }),
    limits: brokerLimits(config.mqtt),
    onLimited: (limit) => metrics.mqttLimited.labels(limit).inc(),
    onClientCount: (n) => metrics.mqttClients.set(n),
    onListener: (l) => {
      metrics.listenerUp.labels(l.name).set(l.up ? 1 : 0)
      if (l.up) metrics.listenerRestarts.labels(l.name).inc()
    },
    authorizePublish: createIngest({
      ...readingDeps,
      onReceipt: (terminalId, receipt) =>
        loudspeakers
          .receipt(terminalId, receipt)
          .catch((e: unknown) =>
            log.error({ component: 'loudspeaker', err: e, terminalId }, 'receipt not recorded'),
          ),
      onRefused,
      onTerminalStatus: (terminalId, state) => {
        loudspeakers
          .presence(terminalId, state)
          .catch((e: unknown) =>
            log.error({ component: 'warnings', err: e, terminalId }, 'presence not handled'),
          )
      },
    }),
  }).catch(failStart)
  opened.push(() => broker.close())
  for (const l of broker.listeners()) metrics.listenerUp.labels(l.name).set(l.up ? 1 : 0)
  // The event loop's stalls (watchdog.ts): logged, counted, on /health.
  const watchdog = startWatchdog({
    log,
    now,
    onStall: (ms) => {
      metrics.eventLoopStalls.inc()
      metrics.eventLoopLastStall.set(ms / 1000)
    },
  })
  opened.push(() => watchdog.stop())
  // Hydrology RTUs over SL 651-2014: their readings take the MQTT readings' way in.
  const sl651 =
    config.sl651.port !== null
      ? new Sl651Listener({
          config: config.sl651,
          runtime: current,
          intake: createReadingIntake(readingDeps),
          faults,
          metrics,
          log,
          now,
          onRefused,
        })
      : undefined
  const sl651Port = sl651 ? await sl651.start().catch(failStart) : null
  if (sl651) opened.push(() => sl651.stop())
  const active = stores.warnings.countActive()
  metrics.activeWarnings.set(active)
  const resending = await loudspeakers.resendQueued()
  if (active > 0 || resending > 0) log.info({ component: 'warnings', active, resending }, 'warnings restored')
  // Approval timeouts, silences, flap holds, escalations and expiry run on the wall clock.
  sms?.start()
  if (sms) metrics.sources.smsBacklog = () => sms.backlog()
  webhooks?.start()
  sink?.start()
  opened.push(() => sink?.stop())
  const retainEventsMs = durationMs(config.events.retain)
  ticker = setInterval(() => {
    callouts.tick()
    warnings
      .tick()
      .then(() => loudspeakers.tick())
      .catch((e: unknown) => log.error({ component: 'warnings', err: e }, 'warning tick failed'))
    stores.events.prune(now() - retainEventsMs, config.events.maxEvents)
  }, durationMs(config.warnings.tickEvery))
  ticker.unref()
  faults.start(durationMs(config.faults.checkEvery))
  // `shaobing device` commits from another process: connections of a device it disabled or
  // re-keyed are closed within a second, without a restart.
  let devicesVersion = devices.dataVersion()
  const deviceWatch = setInterval(() => {
    const v = devices.dataVersion()
    if (v === devicesVersion) return
    devicesVersion = v
    const closed = broker.revalidate()
    if (closed > 0) log.info({ component: 'security', closed }, 'device identities changed')
  }, 1000)
  deviceWatch.unref()
  opened.push(() => clearInterval(deviceWatch))

  const host = config.http.host
  const bp = broker.ports
  const urls = {
    mqtt: bp.mqtt !== null ? `mqtt://${host}:${bp.mqtt}` : `mqtts://${host}:${bp.mqtts}`,
    ws: bp.ws !== null ? `ws://${host}:${bp.ws}` : null,
    mqtts: bp.mqtts !== null ? `mqtts://${host}:${bp.mqtts}` : null,
    wss: bp.wss !== null ? `wss://${host}:${bp.wss}` : null,
    http: '',
    nodeRed: null as string | null,
    sl651: sl651Port !== null ? `tcp://${config.sl651.host}:${sl651Port}` : null,
  }
  const httpTls = config.http.tls
  const api = buildApi({
    https: httpTls ? tlsOptions(httpTls) : undefined,
    runtime: current,
    manager: warnings,
    playableForMs: durationMs(config.warnings.playableFor),
    approvalsNeeded: (hazard, level) => approvalsNeeded(approvalPolicy(config.warnings, hazard, level)),
    events: { bus, store: stores.events },
    people: callouts,
    sms,
    accounts,
    readsNeedViewer: () => needViewer,
    audit: (...entry) => stores.audit.audit(...entry),
    now,
    cap: config.cap,
    faults,
    store,
    aggregates: (id, from, to, limit) => retention.aggregates(id, from, to, limit),
    warnings: queriesOf(stores),
    metrics,
    log,
    info: () => ({
      version: '0.1.0',
      mqttUrl: urls.mqtt,
      wsUrl: urls.ws,
      ports: { ...broker.ports, http: httpPort, nodeRed: nodeRed?.port ?? null, sl651: sl651Port },
      nodeRedUrl: urls.nodeRed,
      stations: runtime.registry.stations.length,
      terminals: runtime.registry.terminals.length,
      rules: runtime.engine.rules.map((r) => r.id),
      mqttClients: broker.connectedClients,
      storage: { state: budget.state, ...(budget.last ?? retention.usage()) },
      eventLoop: watchdog.health(),
      listeners: broker.listeners(),
    }),
  })
  await api.listen({ host, port: config.http.port }).catch(failStart)
  const address = api.server.address()
  const httpPort = typeof address === 'object' && address ? address.port : config.http.port
  urls.http = `${httpTls ? 'https' : 'http'}://${host}:${httpPort}`
  opened.push(() => api.close())

  // Node-RED, embedded, once the API it talks to is up (one per process: see nodered/embedded.ts).
  let nodeRed: EmbeddedNodeRed | undefined
  if (config.nodeRed.enabled) {
    nodeRed = await startNodeRed({
      config: config.nodeRed,
      password: loaded.nodeRedPassword ?? '',
      log,
    }).catch(failStart)
    urls.nodeRed = nodeRed.url
  }

  // The ready line is always written, whatever the level: supervisors and tests wait for it.
  log.child({}, { level: 'info' }).info(
    {
      mqttPort: broker.ports.mqtt,
      wsPort: broker.ports.ws,
      httpPort,
      ...(nodeRed ? { nodeRedPort: nodeRed.port } : {}),
      ...(sl651Port !== null ? { sl651Port } : {}),
      dataDir: config.dataDir,
      stations: runtime.registry.stations.length,
      terminals: runtime.registry.terminals.length,
      rules: runtime.engine.rules.length,
      replayed: runtime.replayed,
      readsNeedViewer: needViewer,
    },
    'gateway ready',
  )

  const reloadLog = log.child({ component: 'reload' })
  /** Renewed certificates take effect without a restart (the file paths are fixed at start). */
  const reloadTls = () => {
    broker.reloadTls()
    if (!httpTls) return
    try {
      ;(api.server as unknown as TlsServer).setSecureContext(tlsOptions(httpTls))
      reloadLog.info({ cert: httpTls.cert }, 'https certificate reloaded')
    } catch (e) {
      reloadLog.error({ err: (e as Error).message }, 'https certificate not reloaded; the running one stays')
    }
  }
  const reload: RunningGateway['reload'] = () => {
    const next = loadConfig(opts.configPath, opts.overrides)
    if (!next.ok) {
      for (const i of next.error)
        reloadLog.error({ issue: formatFileIssue(i) }, 'configuration refused; the running one stays')
      metrics.reloads.labels('refused').inc()
      return next
    }
    // Retention periods and the disk budget apply at once; the other store settings at a restart.
    const fixed = (c: typeof config) =>
      JSON.stringify([
        c.mqtt,
        c.http,
        c.dataDir,
        { ...c.store, retention: 0, budget: 0 },
        c.warnings,
        c.sinks,
        c.nodeRed,
        c.sl651,
      ])
    retention.configure(periods(next.value.config))
    budget.configure(limits(next.value.config))
    storageTimers(next.value.config)
    void checkBudget()
    if (fixed(next.value.config) !== fixed(config))
      reloadLog.warn(
        'listener, data directory, store, warnings, sink, Node-RED and SL 651 settings changed: they take effect at the next restart',
      )
    operators = next.value.config.operators
    reloadTls()
    const key = loadOrCreateSigningKey(config.dataDir).key
    if (keyId(createPublicKey(key)) !== signer.kid) {
      signer.use(key)
      reloadLog.info({ kid: signer.kid, audit: true }, 'command-signing key rotated')
    }
    operatorPolicy = policyOf(next.value.config.security.operators)
    for (const w of next.value.warnings) reloadLog.warn({ component: 'config' }, w)
    for (const n of next.value.notices) reloadLog.info({ component: 'config' }, n)
    const built = buildRuntime(next.value, store, stores.alerts)
    runtime = built // the swap: everything after this line sees only the new runtime
    metrics.reloads.labels('applied').inc()
    const summary = {
      stations: built.registry.stations.length,
      terminals: built.registry.terminals.length,
      rules: built.engine.rules.length,
    }
    reloadLog.info({ ...summary, replayed: built.replayed, audit: true }, 'configuration reloaded')
    return ok(summary)
  }

  let stopping: Promise<void> | undefined
  return {
    reload,
    routes: api.routeAccess,
    warnings: queriesOf(stores),
    listen: (l) => bus.listen(l),
    ports: { ...broker.ports, http: httpPort, nodeRed: nodeRed?.port ?? null, sl651: sl651Port },
    urls,
    loaded,
    log,
    stop: () =>
      (stopping ??= (async () => {
        await nodeRed?.stop()
        await sl651?.stop()
        clearInterval(retentionTimer)
        clearInterval(budgetTimer)
        clearInterval(deviceWatch)
        faults.stop()
        clearInterval(ticker)
        watchdog.stop()
        await sms?.stop()
        webhooks?.stop()
        await sink?.stop()
        await api.close()
        await broker.close()
        store.close()
        await checkpointer.stop()
        db.close()
        log.info('gateway stopped')
      })()),
  }
}
