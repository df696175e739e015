import path from 'node:path';
import { Empty } from '@bufbuild/protobuf';
import { EgressInfo, EgressSourceType, EgressStatus, StopEgressRequest, UpdateStreamRequest } from '@livekit/protocol';
import {
  assertDestinationWritable,
  assertStreamUrlCount,
  errors,
  metricsType,
  outputField,
  planFromRequest,
  requestCost,
  requestField,
  roomNameOf,
  sdkRoomContext,
  type EgressConfig,
  type Logger,
  type RecordingPlan,
  redactStreamUrl,
} from '@egress/shared';
import {
  ListActiveEgressRequest,
  ListActiveEgressResponse,
  PsrpcClient,
  PsrpcServer,
  RedisBus,
  redisOptions,
  RpcStartEgressRequest,
  type PsrpcHooks,
} from '@egress/shared/psrpc/index';
import { ActiveEgress } from './egress/active-egress.js';
import { startingInfo } from './egress/egress-info.js';
import { countPulseSinks, type HandlerResult, type MetricsSource } from './http/metrics.js';
import { sharedResult } from './http/shared-result.js';
import { Capacity } from './pool/capacity.js';
import { OverloadWatch } from './pool/overload-watch.js';
import { CpuMonitor } from './pool/cpu-monitor.js';
import { RecorderProcess } from './pool/recorder-process.js';
import { SpareRecorder } from './pool/spare-recorder.js';
import { countPulseClients } from './pool/pulse-clients.js';
import { Reaper, RECORDER_ROOT_ENV } from './pool/reaper.js';
import { OOM_NOTE } from '@egress/shared/system/oom-kills';
import { EgressLogFile } from './logs/egress-log-file.js';
import { IoReporter } from './rpc/io-reporter.js';

export interface SupervisorOptions {
  config: EgressConfig;
  log: Logger;
  /** Overrides for tests: the recorder entry and its timeouts. */
  recorderEntry?: string;
  readyTimeoutMs?: number;
  hangTimeoutMs?: number;
  /** Keep one recorder booted ahead of the next request (default true). */
  spareRecorder?: boolean;
  /** Wait before a recorder restart n (1-based); default 250 ms x n. */
  restartDelayMs?: (n: number) => number;
}

export type ShutdownMode = 'drain' | 'finalize';

/**
 * The long-lived service: answers livekit-server over psrpc, admits work by capacity, runs one recorder
 * child per egress and reports every state change back through IOInfo.
 */
export class Supervisor implements MetricsSource {
  readonly nodeId: string;
  private readonly active = new Map<string, ActiveEgress>();
  /** Egress ids between the duplicate check and `active.set`, so a concurrent duplicate is refused. */
  private readonly starting = new Set<string>();
  private readonly bus: RedisBus;
  private readonly internal: PsrpcServer;
  private readonly handler: PsrpcServer;
  private readonly io: IoReporter;
  private readonly ioClient: Promise<PsrpcClient>;
  private readonly capacity: Capacity;
  private readonly overload: OverloadWatch;
  private loadTimer: NodeJS.Timeout | undefined;
  private loadTimerMs = 0;
  private loadStopped = false;
  private pulseSampledAt = 0;
  /** Egresses this node stopped or killed for CPU, for the result metric. */
  private readonly cpuActions = new Map<string, HandlerResult>();
  private readonly spare: SpareRecorder | undefined;
  private readonly reaper: Reaper;
  /** Every recorder (and all it starts) carries this, so the reaper can tell our orphans from others. */
  private readonly recorderEnv: NodeJS.ProcessEnv;
  /** Measured load of the node and of each recorder's process group. */
  readonly cpu = new CpuMonitor();
  /** Called with each finished egress's request type and upstream result name (metrics). */
  onResult: ((type: string, result: HandlerResult) => void) | undefined;
  /** Called with the request type each time a fresh recorder replaces a lost one (metrics). */
  onRestart: ((type: string) => void) | undefined;
  private readonly topic: string[];
  private draining = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    const { config, log } = opts;
    this.nodeId = config.node_id;
    this.topic = config.cluster_id ? [config.cluster_id] : [];
    const hooks: PsrpcHooks = {
      onBadInput: (bad) => log.warn('dropped bad message from the bus', { ...bad }),
      onError: (err, context) => log.warn('psrpc error', { context, error: errors.from(err).message }),
    };
    this.bus = new RedisBus(
      redisOptions({
        address: config.redis.address,
        username: config.redis.username,
        password: config.redis.password,
        db: config.redis.db,
        useTls: config.redis.use_tls,
      }),
      throttled((err, context) => log.warn('redis bus error', { context, error: errors.from(err).message })),
      hooks.onBadInput,
    );
    this.internal = new PsrpcServer(this.bus, 'EgressInternal', hooks);
    this.handler = new PsrpcServer(this.bus, 'EgressHandler', hooks);
    this.ioClient = PsrpcClient.create(this.bus, 'IOInfo', hooks);
    this.io = new IoReporter({
      log,
      createTimeoutMs: config.io_create_timeout,
      updateTimeoutMs: config.io_update_timeout,
      call: async (method, info, timeoutMs) => {
        await (await this.ioClient).request(method, undefined, info, Empty, { timeoutMs });
      },
    });
    this.capacity = new Capacity(config.cpu_cost);
    this.overload = new OverloadWatch(config.cpu_cost);
    this.recorderEnv = { [RECORDER_ROOT_ENV]: config.tmp_dir };
    this.reaper = new Reaper({
      tmpRoot: config.tmp_dir,
      isActive: (id) => this.active.has(id),
      livePgids: () => [...[...this.active.values()].map((e) => e.pid), this.spare?.pid].filter((p) => p !== undefined),
      graceMs: config.pulse_sink_reap_grace_sec * 1000,
      idle: () => this.active.size === 0,
      log: (msg, fields) => log.info(msg, { ...fields }),
    });
    if (opts.spareRecorder !== false) {
      this.spare = new SpareRecorder(
        () =>
          new RecorderProcess({
            onOutput: (line) => log.debug(line, { source: 'spare recorder' }),
            env: this.recorderEnv,
            ...(opts.recorderEntry ? { entry: opts.recorderEntry } : {}),
            ...(opts.readyTimeoutMs ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
            // A spare does no work: a slow heartbeat keeps an idle node quiet until it is handed out.
            hangTimeoutMs: Math.max(30_000, 6 * (opts.hangTimeoutMs ?? 5000)),
          }),
        log,
      );
    }
  }

  async start(): Promise<void> {
    try {
      await this.bus.ping(5000);
    } catch (err) {
      throw errors.unavailable(`cannot reach redis at ${this.opts.config.redis.address}: ${errors.from(err).message}`);
    }
    await this.ioClient;
    await this.internal.registerAffinity({
      method: 'StartEgress',
      topic: this.topic,
      requestType: RpcStartEgressRequest,
      affinity: (req) => this.affinity(req),
      handler: (req) => this.startEgress(req),
    });
    await this.internal.registerMulti({
      method: 'ListActiveEgress',
      topic: this.topic,
      requestType: ListActiveEgressRequest,
      handler: async () => new ListActiveEgressResponse({ egressIds: [...this.active.keys()] }),
    });
    this.spare?.fill();
    this.cpu.sample();
    this.reaper.start();
    this.scheduleLoadTick();
    this.opts.log.info('egress service ready', { nodeID: this.nodeId, cpus: this.capacity.available() });
  }

  /** Upstream's bid: -1 = no bid, 0.5 idle (keeps idle nodes for heavy work), 1 busy with room. */
  affinity(req: RpcStartEgressRequest): number {
    if (this.draining) return -1;
    const reason = this.capacity.explainReject(requestCost(req.request), Date.now(), {
      estimatedCpu: req.estimatedCpu,
    });
    if (reason) {
      this.opts.log.info('not bidding for a request', { egressID: req.egressId, reason });
      return -1;
    }
    return this.active.size === 0 ? 0.5 : 1;
  }

  private async startEgress(req: RpcStartEgressRequest): Promise<EgressInfo> {
    if (this.draining) throw errors.unavailable('server is shutting down');
    // Reserved before the first await: a second request with this id must not pass the check meanwhile.
    if (this.active.has(req.egressId) || this.starting.has(req.egressId)) throw errors.alreadyExists('egress');
    this.starting.add(req.egressId);
    try {
      return await this.startReserved(req);
    } finally {
      this.starting.delete(req.egressId);
    }
  }

  private async startReserved(req: RpcStartEgressRequest): Promise<EgressInfo> {
    const { config, log } = this.opts;
    // Requests recorded with the SDK join the room with a recorder token minted here.
    const sdkRoom = await sdkRoomContext(req, {
      apiKey: config.api_key,
      apiSecret: config.api_secret,
      wsUrl: config.ws_url,
    });
    const plan = await planFromRequest(req, {
      ...(sdkRoom ? { sdkRoom } : {}),
      tmpRoot: config.tmp_dir,
      localOutputDir: config.local_output_dir,
      logDir: config.log_dir,
      chrome: {
        executablePath: config.chromium_path,
        sandbox: config.enable_chrome_sandbox,
        insecure: config.insecure,
        extraFlags: Object.fromEntries(Object.entries(config.chrome_flags).map(([k, v]) => [k, String(v)])),
      },
      limits: {
        fileMaxDurationMs: config.session_limits.file_output_max_duration,
        streamMaxDurationMs: config.session_limits.stream_output_max_duration,
        segmentMaxDurationMs: config.session_limits.segment_output_max_duration,
        imageMaxDurationMs: config.session_limits.image_output_max_duration,
        fileMaxBytes: config.session_limits.file_output_max_size,
      },
      storage: {
        ...(config.storage ? { storage: config.storage } : {}),
        disallow_local_storage: config.disallow_local_storage,
      },
      ...(config.backup ? { backup: config.backup } : {}),
      room: {
        apiKey: config.api_key,
        apiSecret: config.api_secret,
        wsUrl: config.ws_url,
        templateBase: config.template_base,
      },
    });
    if (plan.outputs.stream) {
      assertStreamUrlCount(plan.outputs.stream.urls.length, config.max_stream_urls, streamUrlsField(req));
    }
    // An upload's local copy is only a fallback; a local file must be writable where it goes.
    if (plan.outputs.file && !plan.outputs.file.upload) {
      await assertDestinationWritable(plan.outputs.file.destination, fileField(req));
    }
    const kind = requestCost(req.request);
    const reject = this.capacity.explainReject(kind, Date.now(), { estimatedCpu: req.estimatedCpu });
    if (reject) {
      log.info('rejecting a request', { egressID: req.egressId, reason: reject });
      throw errors.unavailable(reject);
    }
    this.capacity.reserve(req.egressId, kind);
    const egLog = log.child({ egressID: req.egressId });
    // startingInfo keeps a redacted copy: the plan was built from the request itself.
    const info = startingInfo(req.egressId, req.roomId, roomNameOf(req), req.request);
    if (plan.source.kind === 'sdk') info.sourceType = EgressSourceType.SDK;
    const logFile = openLogFile(config.log_dir, req.egressId, egLog);
    const egress = new ActiveEgress(plan, info, {
      io: this.io,
      log: egLog,
      onOutput: (line, stream) => {
        logFile?.write(line, stream);
        egLog.info(line, { source: 'recorder', stream });
      },
      recorderEnv: this.recorderEnv,
      restarts: config.recorder_restarts,
      maxStreamUrls: config.max_stream_urls,
      takeSpare: async () => this.spare?.take(),
      ...(this.opts.restartDelayMs ? { restartDelayMs: this.opts.restartDelayMs } : {}),
      ...(this.opts.recorderEntry ? { recorderEntry: this.opts.recorderEntry } : {}),
      ...(this.opts.readyTimeoutMs ? { readyTimeoutMs: this.opts.readyTimeoutMs } : {}),
      ...(this.opts.hangTimeoutMs ? { hangTimeoutMs: this.opts.hangTimeoutMs } : {}),
    });
    this.active.set(req.egressId, egress);
    this.scheduleLoadTick();
    egress.on('restarted', ({ oldPid, newPid }) => {
      if (oldPid) this.cpu.unwatch(oldPid);
      if (newPid && this.active.has(req.egressId)) this.cpu.watch(newPid);
      this.onRestart?.(metricsType(egress.info.request));
    });
    void egress.ended.then((end) => {
      void logFile?.end(`${EgressStatus[end.status]} ${end.error || end.details}`);
      const result = this.cpuActions.get(req.egressId) ?? resultOf(end, this.draining);
      this.cpuActions.delete(req.egressId);
      this.onResult?.(metricsType(egress.info.request), result);
      return this.forget(req.egressId);
    });
    // Control topics exist before the child does, so a StopEgress racing the start is not lost.
    await this.registerControl(plan);
    const { file, segments, stream, images } = plan.outputs;
    egLog.info('starting egress', {
      requestType: req.request.case,
      ...(file ? { file: file.destination } : {}),
      ...(segments ? { playlist: `${segments.dir}/${segments.playlistName}` } : {}),
      ...(stream ? { streams: stream.urls.map(redactStreamUrl) } : {}),
      ...(images?.length ? { images: images.map((i) => `${i.dir}/${i.filenamePrefix}`) } : {}),
    });
    // The reply is the STARTING snapshot even if the recorder turns ACTIVE before CreateEgress returns.
    const reply = info.clone();
    const spare = await this.spare?.take();
    const [created, launched] = await Promise.allSettled([this.io.create(info), egress.launch(spare)]);
    if (egress.pid && this.active.has(req.egressId)) this.cpu.watch(egress.pid);
    if (launched.status === 'rejected' || created.status === 'rejected') {
      const err = errors.from(
        launched.status === 'rejected' ? launched.reason : (created as PromiseRejectedResult).reason,
      );
      egLog.error('egress failed to start', { error: err.message });
      egress.kill(err.message);
      throw err;
    }
    return reply;
  }

  private async registerControl(plan: RecordingPlan): Promise<void> {
    const id = plan.egressId;
    await this.handler.registerQueue({
      method: 'StopEgress',
      topic: [id],
      requestType: StopEgressRequest,
      handler: async () => {
        const eg = this.active.get(id);
        if (!eg) throw errors.notFound('egress');
        return eg.stop('StopEgress API').clone();
      },
    });
    await this.handler.registerQueue({
      method: 'UpdateStream',
      topic: [id],
      requestType: UpdateStreamRequest,
      handler: async (req) => {
        const eg = this.active.get(id);
        if (!eg) throw errors.notFound('egress');
        return eg.updateStream(req.addOutputUrls, req.removeOutputUrls);
      },
    });
  }

  private async forget(egressId: string): Promise<void> {
    const pid = this.active.get(egressId)?.pid;
    if (pid) this.cpu.unwatch(pid);
    this.active.delete(egressId);
    this.capacity.release(egressId);
    if (this.active.size === 0) this.samplePulseClients(Date.now());
    await Promise.all([
      this.handler.deregister('StopEgress', [egressId]),
      this.handler.deregister('UpdateStream', [egressId]),
    ]).catch(() => undefined);
  }

  /** Health snapshot for the health endpoint and `egress status`. */
  status() {
    const now = Date.now();
    return {
      nodeId: this.nodeId,
      availableCpu: this.capacity.available(),
      draining: this.draining,
      egresses: [...this.active.values()].map((e) => ({
        egressId: e.egressId,
        type: e.info.request.case ?? 'unknown',
        status: e.state,
        ageSec: Math.round((now - e.createdAt) / 1000),
        pid: e.pid,
        restarts: e.restarts,
        cpu: e.pid ? Number(this.cpu.groupCpu(e.pid).toFixed(3)) : 0,
        rssBytes: e.pid ? this.cpu.groupRssBytes(e.pid) : 0,
        output: e.plan.outputs.file ? path.basename(e.plan.outputs.file.destination) : undefined,
      })),
    };
  }

  // ---- MetricsSource: what Prometheus scrapes ----

  activeByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.active.values()) {
      const type = metricsType(e.info.request);
      counts[type] = (counts[type] ?? 0) + 1;
    }
    return counts;
  }

  canAcceptRequest(): boolean {
    return !this.draining && this.capacity.canAccept('web');
  }

  isDisabled(): boolean {
    return this.draining;
  }

  isTerminating(): boolean {
    return this.draining;
  }

  nodeCpuLoad(): number {
    return this.cpu.nodeLoad();
  }

  procRssBytes(): number {
    return this.cpu.totalRssBytes() + process.memoryUsage.rss();
  }

  // Each count is a pactl process and PulseAudio client: scrapes share one run per 1.5 s.
  readonly pulseSinks = sharedResult(() => countPulseSinks(), 1500);

  /** Every live recorder's own metrics; one that does not answer within 1 s is left out of this scrape. */
  async childMetrics(): Promise<string[]> {
    const texts = await Promise.all([...this.active.values()].map((e) => e.metrics(1000)));
    return texts.filter((t): t is string => !!t);
  }

  loadRatio(): { cpu: number; memory: number; pulse: number } {
    return this.capacity.loadRatio();
  }

  /**
   * Once a second: measured CPU and memory feed admission, and sustained overload stops the heaviest
   * egress gracefully (EOS, file kept), then kills it if the node stays overloaded past the grace.
   */
  /**
   * Samples load every second while egresses run and every 10 s while idle: an idle node has nothing to
   * stop, and each wakeup costs it CPU.
   */
  private scheduleLoadTick(): void {
    const every = this.active.size > 0 ? 1000 : 10_000;
    if (this.loadStopped) return;
    if (this.loadTimer && this.loadTimerMs === every) return;
    clearTimeout(this.loadTimer);
    this.loadTimerMs = every;
    this.loadTimer = setTimeout(() => {
      this.loadTimer = undefined;
      this.onLoadTick();
      this.scheduleLoadTick();
    }, every);
    this.loadTimer.unref();
  }

  private samplePulseClients(now: number): void {
    this.pulseSampledAt = now;
    void countPulseClients().then((n) => n !== undefined && this.capacity.updatePulseClients(n));
  }

  private onLoadTick(): void {
    this.cpu.sample();
    const now = Date.now();
    // pactl is a process start: every 5 s while recording is enough (Chrome starts since are held at 4
    // clients each); an idle node is counted once when its last egress ends.
    if (this.active.size > 0 && now - this.pulseSampledAt >= 5000) this.samplePulseClients(now);
    for (const e of this.active.values()) if (e.pid) this.capacity.updateMeasured(e.egressId, this.cpu.groupCpu(e.pid));
    this.capacity.updateMemory(this.cpu.totalRssBytes());
    const nodeLoad = this.cpu.nodeLoad();
    this.capacity.updateNodeLoad(nodeLoad);
    const decision = this.overload.tick({ nodeLoad, egresses: this.capacity.egresses(), now });
    if (decision.stop) {
      this.opts.log.warn('stopping an egress: CPU exhausted', { egressID: decision.stop, reason: decision.reason });
      this.cpuActions.set(decision.stop, 'stopped_cpu');
      this.active.get(decision.stop)?.stop('CPU exhausted');
    }
    if (decision.kill) {
      this.opts.log.error('killing an egress: CPU still exhausted', {
        egressID: decision.kill,
        reason: decision.reason,
      });
      this.cpuActions.set(decision.kill, 'killed_cpu');
      this.active.get(decision.kill)?.kill(`CPU exhausted: ${decision.reason ?? ''}`);
    }
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * drain: stop bidding and wait for every egress to end on its own. finalize: also stop each one now
   * with EOS so every file is finalized. Either way, reports are flushed before the bus closes.
   */
  shutdown(mode: ShutdownMode): Promise<void> {
    this.draining = true;
    if (mode === 'finalize') for (const eg of this.active.values()) eg.stop('Process killed');
    this.closing ??= this.closeWhenIdle();
    return this.closing;
  }

  private async closeWhenIdle(): Promise<void> {
    await this.internal.deregister('StartEgress', this.topic).catch(() => undefined);
    this.spare?.close();
    await this.reaper.stop();
    // Load keeps being watched while recordings run out: a drain can last hours.
    await Promise.all([...this.active.values()].map((e) => e.ended));
    this.loadStopped = true;
    clearTimeout(this.loadTimer);
    await this.io.drain(10_000);
    await this.internal.close();
    await this.handler.close();
    await (await this.ioClient).close();
    await this.bus.close();
  }
}

/** A dead Redis makes ioredis report every reconnect attempt: log each distinct error once a minute. */
function throttled(report: (err: unknown, context: string) => void): (err: unknown, context: string) => void {
  const last = new Map<string, number>();
  return (err, context) => {
    const key = `${context}: ${errors.from(err).message}`;
    const now = Date.now();
    if (now - (last.get(key) ?? 0) < 60_000) return;
    last.set(key, now);
    report(err, context);
  };
}

/** The egress's own log file; an unwritable log dir costs the file, not the recording. */
function openLogFile(dir: string, egressId: string, log: Logger): EgressLogFile | undefined {
  try {
    return EgressLogFile.open(dir, egressId, { onError: (err) => log.warn('egress log file', { error: err.message }) });
  } catch (err) {
    log.warn('cannot open the egress log file', { dir, error: errors.from(err).message });
    return undefined;
  }
}

/** Upstream's livekit_egress_handler_results_total result names. */
function resultOf(end: EgressInfo, draining: boolean): HandlerResult {
  if (end.status === EgressStatus.EGRESS_COMPLETE)
    return draining && /Process killed/.test(end.details) ? 'killed_shutdown' : 'completed';
  // A reached session limit is a normal end: the outputs are finalized as on a stop.
  if (end.status === EgressStatus.EGRESS_LIMIT_REACHED) return 'completed';
  if (end.status === EgressStatus.EGRESS_ABORTED) return 'aborted';
  if (end.error.includes(OOM_NOTE)) return 'killed_oom';
  return 'process_error';
}

/** The request's field holding its stream URLs, for errors. */
function streamUrlsField(req: RpcStartEgressRequest): string {
  return `${outputField(req.request, 'stream') ?? requestField(req.request)}.urls`;
}

function fileField(req: RpcStartEgressRequest): string {
  return `${outputField(req.request, 'file') ?? requestField(req.request)}.filepath`;
}
