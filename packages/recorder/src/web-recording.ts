/**
 * One web-page recording from plan to finalized MP4: pulse sink -> Xvfb -> Chromium -> page -> (start
 * signal) -> gst-launch, then EOS -> teardown -> remux -> delivery. Used by the recorder child and by
 * `egress record`. Whatever happens, every process it started is killed and waited for, the sink is
 * unloaded and the scratch directory removed before `ended` resolves.
 */
import { join } from 'node:path';
import { errors, type RecordingPlan } from '@egress/shared';
import { OOM_NOTE, OomKillWatch } from '@egress/shared/system/oom-kills';
import { ensurePulseDaemon, loadNullSink, type NullSink } from './audio/pulse.js';
import { Chromium } from './browser/chromium.js';
import { startXvfb, type XvfbDisplay } from './display/xvfb.js';
import type { GstExit } from './gst/launch.js';
import { delay, describeExit } from '@egress/shared/host/terminate';
import { buildWebPipeline } from './pipeline/web-argv.js';
import { RecordingLifecycle, SOURCE_CLOSED, type RecordingLifecycleOptions } from './recording-lifecycle.js';

/** Options for {@link WebRecording}. */
export interface WebRecordingOptions extends RecordingLifecycleOptions {
  /** Bound on the page navigation (default 30000 ms). */
  pageLoadTimeoutMs?: number;
}

/** A recording of one web page into one MP4 file. */
export class WebRecording extends RecordingLifecycle {
  declare readonly plan: RecordingPlan;
  private readonly pageLoadTimeoutMs: number;
  /** Names the OOM killer when it is what took a process of ours. */
  private readonly oom = new OomKillWatch();
  private sink: NullSink | undefined;
  private xvfb: XvfbDisplay | undefined;
  private chromium: Chromium | undefined;

  constructor(plan: RecordingPlan, options: WebRecordingOptions = {}) {
    super(plan, options, { eosKilledNote: '; file finalized from disk' });
    this.pageLoadTimeoutMs = options.pageLoadTimeoutMs ?? 30_000;
  }

  /** A process we started went away; once teardown has begun that is expected. */
  private died(why: string): void {
    this.lost(errors.internal(this.oom.killsSince() > 0 ? `${why} (${OOM_NOTE})` : why));
  }

  /** Brings everything up in order; returns false early (without throwing) when an end was requested. */
  protected override async startSequence(): Promise<boolean> {
    const { plan } = this;
    const source = plan.source;
    if (source.kind !== 'web') throw errors.internal(`a web recording cannot record a ${source.kind} source`);
    const { file, segments, stream, images } = plan.outputs;
    if (!file && !segments && !stream && !images?.length) {
      throw errors.invalidArgument('outputs', undefined, 'a recording needs at least one output');
    }
    if (this.ending) return false;
    const times: string[] = [];
    const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      const result = await step();
      times.push(`${label} ${Date.now() - t0} ms`);
      this.emit('stage', label, Date.now() - t0);
      return result;
    };
    const began = Date.now();
    // Until the page prints START_RECORDING, a stop ends "Start signal not received", however far the start got.
    this.waitingForStartSignal = source.awaitStartSignal;
    // Buckets and credentials are checked while the rest starts, and before anything is recorded.
    const { uploads, storageChecked } = await this.prepareStorage();

    const sink = await timed('pulse', async () => {
      await ensurePulseDaemon({ log: (l) => this.log('pulse', l) });
      return loadNullSink(plan.egressId, (l) => this.log('pulse', l));
    });
    this.sink = sink;
    if (this.ending) return false;

    const { width, height, depth } = plan.encoding;
    const authFile = join(plan.tmpDir, 'xauthority');
    const xvfb = await timed('xvfb', () =>
      startXvfb({ width, height, depth, authFile, log: (l) => this.log('xvfb', l) }),
    );
    this.xvfb = xvfb;
    void xvfb.exited.then((s) => this.died(`Xvfb exited unexpectedly (${describeExit(s)})`));
    this.note(`display ${xvfb.display} (Xvfb pid ${xvfb.pid})`);
    if (this.ending) return false;

    const chromium = await timed('chromium', () =>
      Chromium.launch({
        chrome: plan.chrome,
        display: xvfb.display,
        xauthority: xvfb.authFile,
        pulseSink: sink.sinkName,
        width,
        height,
        userDataDir: join(plan.tmpDir, 'chrome'),
        log: (l) => this.log('chromium', l),
      }),
    );
    this.chromium = chromium;
    let startSignal!: () => void;
    const startSignalSeen = new Promise<void>((resolve) => (startSignal = resolve));
    chromium.on('startRecording', () => startSignal());
    chromium.on('endRecording', () => this.stop(SOURCE_CLOSED));
    chromium.on('disconnected', (why) => this.died(why));
    chromium.on('crashed', (why) => this.died(why));
    // Upstream checks div.error once, at load; a template that fails later (a bad token, an unreachable
    // server) would otherwise wait for a start signal forever, or record its error page.
    chromium.on('templateError', (text) => this.fail(errors.failedPrecondition(`template error: ${text}`)));
    if (this.ending) return false;

    await timed('page', () => this.untilEnd(chromium.load(source.url, this.pageLoadTimeoutMs)));
    if (this.ending) return false;

    if (source.awaitStartSignal) {
      await timed('start signal', () => this.untilEnd(startSignalSeen));
      if (this.ending) return false;
      this.waitingForStartSignal = false;
    }

    await timed('storage', () => storageChecked);
    if (this.ending) return false;
    const outputs = await this.openOutputs(uploads);
    const pipeline = buildWebPipeline({
      source,
      encoding: plan.encoding,
      display: xvfb.display,
      pulseMonitor: sink.monitor,
      outputs: {
        ...(file ? { file: { fileType: file.fileType, path: this.capturePath } } : {}),
        ...outputs.pipelineOutputs(),
      },
    });
    const gst = this.launchGst(
      pipeline,
      outputs,
      { feedFd: stream !== undefined, env: { DISPLAY: xvfb.display, XAUTHORITY: xvfb.authFile } },
      (exit) => void this.gstGone(exit),
    );
    const reached = await timed('gst', () => this.untilPlaying(gst));
    if (this.ending) return false;
    if (!reached) throw errors.internal(`pipeline did not reach PLAYING within ${this.playingTimeoutMs} ms`);

    this.startedAt = Date.now();
    outputs.start(this.startedAt, gst.feed);
    this.note(`active after ${this.startedAt - began} ms (${times.join(', ')})`);
    this.emit('active', this.startedAt);
    this.watchLimits();
    return true;
  }

  /** gst-launch exited before its input ended. */
  private async gstGone(exit: GstExit): Promise<void> {
    // gst-launch quits on its own when its display goes away: give a dying Xvfb or Chromium a moment to
    // be named as the cause. A gst-launch killed by a signal is the cause itself.
    if (exit.signal === null) await delay(300);
    if (!this.stopping) this.died(`gst-launch exited unexpectedly (${describeExit(exit)})`);
  }

  /** SIGINT to gst-launch: EOS through the pipeline. */
  protected override async drainPipeline(): Promise<GstExit | undefined> {
    const gst = this.gst;
    if (!gst) return undefined;
    this.stopping = true;
    return gst.stop({ timeoutMs: this.eosTimeoutMs });
  }

  /** Kills whatever is still running, in an order that keeps the logs quiet. */
  protected override async stopSources(): Promise<void> {
    await Promise.all([this.quietly('gst-launch', this.gst?.kill()), this.quietly('Chromium', this.chromium?.close())]);
    // Xvfb goes after its clients so they do not report a lost display.
    await this.quietly('Xvfb', this.xvfb?.stop());
    await this.quietly('pulse sink', this.sink?.unload());
  }

  protected override killNow(): void {
    void this.teardown();
  }
}
