import { stat } from 'node:fs/promises';
import { Gauge, Registry } from 'prom-client';

/**
 * The recorder's own metrics, labelled with its egress id, rendered on the supervisor's request and
 * merged into its scrape. Gauges only: they describe a live recording and vanish with it.
 */
export class RecorderMetrics {
  private readonly registry = new Registry();
  private readonly stages: Gauge<'stage'>;
  private capturePath: string | undefined;
  private activeAt: number | undefined;

  constructor(egressId: string) {
    this.registry.setDefaultLabels({ egress_id: egressId });
    const registers = [this.registry];
    this.stages = new Gauge({
      name: 'livekit_egress_recorder_start_stage_seconds',
      help: 'How long each start-up stage of the recorder took (pulse, xvfb, chromium, page, gst)',
      labelNames: ['stage'] as const,
      registers,
    });
    // prom-client calls collect() with the gauge as `this`; the recording's state comes from these.
    const capture = () => this.capturePath;
    const activeAt = () => this.activeAt;
    new Gauge({
      name: 'livekit_egress_recorder_capture_bytes',
      help: 'Bytes the capture pipeline has written so far; flat while recording means a stalled capture',
      registers,
      async collect() {
        const file = capture();
        if (!file) return;
        const s = await stat(file).catch(() => undefined);
        this.set(s?.size ?? 0);
      },
    });
    new Gauge({
      name: 'livekit_egress_recorder_active_seconds',
      help: 'Seconds since the capture went live',
      registers,
      collect() {
        const at = activeAt();
        this.set(at === undefined ? 0 : (Date.now() - at) / 1000);
      },
    });
  }

  stage(name: string, ms: number): void {
    this.stages.set({ stage: name }, ms / 1000);
  }

  /** The capture went live, writing `capturePath`. */
  active(startedAt: number, capturePath: string): void {
    this.activeAt = startedAt;
    this.capturePath = capturePath;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
