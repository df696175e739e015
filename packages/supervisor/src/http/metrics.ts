import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { listModules, type PactlOptions } from '@egress/shared/host/pulse';

/** Why a handler ended, as upstream labels `livekit_egress_handler_results_total{result}`. */
export const HANDLER_RESULTS = [
  'completed',
  'aborted',
  'stopped_cpu',
  'killed_cpu',
  'killed_oom',
  'killed_shutdown',
  'process_error',
  'duplicate_identity',
] as const;
export type HandlerResult = (typeof HANDLER_RESULTS)[number];

/** What the node knows at scrape time; every gauge is read from here when Prometheus scrapes. */
export interface MetricsSource {
  /** Active egresses per request type (e.g. `{ web: 2 }`). */
  activeByType(): Record<string, number>;
  /** Whether a Web request would be admitted now (upstream evaluates a synthetic Web request). */
  canAcceptRequest(): boolean;
  isDisabled(): boolean;
  isTerminating(): boolean;
  /** Fraction of all cores busy, 0..1. */
  nodeCpuLoad(): number;
  /** RSS of the recorder processes, summed. */
  procRssBytes(): number;
  pulseSinks(): Promise<number>;
  loadRatio(): { cpu: number; memory: number; pulse: number };
  /** Recorder children's own metrics in text exposition, merged into the scrape when given. */
  childMetrics?(): Promise<string[]>;
}

export interface MetricsLabels {
  nodeId: string;
  clusterId: string;
}

/**
 * The service's Prometheus metrics under upstream's names, on a registry of its own (not prom-client's
 * global one) with const labels node_id and cluster_id, plus prom-client's default process metrics.
 */
export class EgressMetrics {
  readonly registry = new Registry();
  private readonly results: Counter<'type' | 'result'>;
  private readonly restarts: Counter<'type'>;

  constructor(
    private readonly source: MetricsSource,
    labels: MetricsLabels,
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node_id: labels.nodeId, cluster_id: labels.clusterId });
    // The event-loop lag histogram wakes the loop at this interval (default 10 ms); each wakeup costs an
    // idle node CPU, and lag worth alerting on lasts longer than 10 s anyway.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10_000 });
    const flag = (b: boolean) => (b ? 1 : 0);

    new Gauge({
      name: 'livekit_egress_available',
      help: '1 when the node runs no egress, else 0',
      registers,
      collect() {
        this.set(flag(totalActive(source.activeByType()) === 0));
      },
    });
    new Gauge({
      name: 'livekit_egress_can_accept_request',
      help: '1 when the node would accept a web egress request now',
      registers,
      collect() {
        this.set(flag(source.canAcceptRequest() && !source.isDisabled()));
      },
    });
    new Gauge({
      name: 'livekit_egress_is_disabled',
      help: '1 when the node takes no new requests',
      registers,
      collect() {
        this.set(flag(source.isDisabled()));
      },
    });
    new Gauge({
      name: 'livekit_egress_is_terminating',
      help: '1 while the node is shutting down',
      registers,
      collect() {
        this.set(flag(source.isTerminating()));
      },
    });
    new Gauge({
      name: 'livekit_node_cpu_load',
      help: 'Fraction of all CPU cores busy',
      labelNames: ['node_type'] as const,
      registers,
      collect() {
        this.set({ node_type: 'EGRESS' }, source.nodeCpuLoad());
      },
    });
    // Like upstream's GaugeVec, a type once seen keeps reporting (0 when none of it is running).
    const seenTypes = new Set<string>();
    new Gauge({
      name: 'livekit_egress_requests',
      help: 'Active egress requests by type',
      labelNames: ['type'] as const,
      registers,
      collect() {
        const active = source.activeByType();
        for (const type of Object.keys(active)) seenTypes.add(type);
        for (const type of seenTypes) this.set({ type }, active[type] ?? 0);
      },
    });
    new Gauge({
      name: 'livekit_egress_proc_rss_bytes',
      help: 'Resident memory of the egress handler processes, summed',
      registers,
      collect() {
        this.set(source.procRssBytes());
      },
    });
    new Gauge({
      name: 'livekit_egress_pulse_sinks',
      help: 'PulseAudio null sinks loaded on the node',
      registers,
      async collect() {
        try {
          this.set(await source.pulseSinks());
        } catch {
          // keep the last value: a failed count must not fail the scrape
        }
      },
    });
    new Gauge({
      name: 'livekit_load_ratio',
      help: 'Used fraction of each admission limit (cpu, memory, pulse)',
      labelNames: ['type'] as const,
      registers,
      collect() {
        const r = source.loadRatio();
        this.set({ type: 'cpu' }, r.cpu);
        this.set({ type: 'memory' }, r.memory);
        this.set({ type: 'pulse' }, r.pulse);
      },
    });
    this.results = new Counter({
      name: 'livekit_egress_handler_results_total',
      help: 'Finished egress handlers by request type and result',
      labelNames: ['type', 'result'] as const,
      registers,
    });
    this.restarts = new Counter({
      name: 'livekit_egress_recorder_restarts_total',
      help: 'Recorders replaced after dying while their egress was active, by request type',
      labelNames: ['type'] as const,
      registers,
    });
  }

  /** Count one recorder replaced by a fresh one (not upstream: upstream never restarts). */
  recordRestart(type: string): void {
    this.restarts.inc({ type });
  }

  /** Count one finished handler, e.g. `recordResult('web', 'completed')`. */
  recordResult(type: string, result: HandlerResult): void {
    this.results.inc({ type, result });
  }

  /** The scrape body: this registry, then the children's metrics when the source provides them. */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    const children = this.source.childMetrics ? await this.source.childMetrics().catch(() => []) : [];
    return mergeMetricsText(own, children);
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function totalActive(byType: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(byType)) n += v;
  return n;
}

interface Family {
  help?: string;
  type?: string;
  lines: string[];
}

const SAMPLE_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info', '_gcount', '_gsum'];

/**
 * Merge Prometheus text expositions: `own` first, then each child's. A family keeps its first HELP and
 * TYPE only, and a child's samples of a family already present join that family's samples, so each
 * family stays one contiguous block as the format requires.
 */
export function mergeMetricsText(own: string, children: string[]): string {
  if (children.length === 0) return own;
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { lines: [] }));
    return f;
  };
  for (const text of [own, ...children]) {
    let current: string | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.trimEnd();
      if (!line) continue;
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)/.exec(line);
      if (meta) {
        const name = meta[2]!;
        const f = family(name);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        current = name;
        continue;
      }
      if (line.startsWith('#')) {
        if (line !== '# EOF' && current) family(current).lines.push(line);
        continue;
      }
      const name = /^[^{\s]+/.exec(line)?.[0] ?? line;
      current = familyOf(name, current, families);
      family(current).lines.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    out.push(...f.lines);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** The family a sample belongs to: its own name, or the family it is a _bucket/_sum/_count/... of. */
function familyOf(sample: string, current: string | undefined, families: Map<string, Family>): string {
  if (current && (sample === current || isSuffixOf(sample, current))) return current;
  if (families.has(sample)) return sample;
  for (const suffix of SAMPLE_SUFFIXES) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return sample;
}

function isSuffixOf(sample: string, base: string): boolean {
  return sample.startsWith(base) && SAMPLE_SUFFIXES.includes(sample.slice(base.length));
}

/**
 * Serve the metrics on prometheus_port: GET /metrics (and /). Bound to all interfaces, since Prometheus
 * scrapes the pod IP.
 */
export function startMetricsServer(port: number, metrics: EgressMetrics): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/' && url.pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    metrics.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : err}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Null sinks loaded in PulseAudio, from `pactl list short modules`; 0 when pactl fails or hangs. */
export async function countPulseSinks(opts: PactlOptions = {}): Promise<number> {
  const modules = await listModules({ timeoutMs: 3000, ...opts }).catch(() => []);
  return modules.filter((m) => m.name === 'module-null-sink').length;
}
