import { createLogger, errors, isLocalStorage, loadConfig, redactConfig } from '@egress/shared';
import { startHealthServer } from '../http/health-server.js';
import { defaultTemplateRoot, startTemplateServer } from '../http/template-server.js';
import { EgressMetrics, startMetricsServer } from '../http/metrics.js';
import { Supervisor, type ShutdownMode } from '../supervisor.js';

/** `egress serve`: runs the service until a signal ends it; resolves with the exit code. */
export async function serve(argv: string[]): Promise<number> {
  // Taken before anything is read or logged: a pod deleted while it starts must not die by the default handler
  // and leave a spare recorder behind. Until the service runs, a signal is only remembered.
  let early: NodeJS.Signals | undefined;
  let onEarly: (signal: NodeJS.Signals) => void = () => {};
  let onSignal = (signal: NodeJS.Signals) => {
    early ??= signal;
    onEarly(signal);
  };
  for (const s of ['SIGTERM', 'SIGQUIT', 'SIGINT'] as const) process.on(s, (signal) => onSignal(signal));

  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ argv, env: process.env });
  } catch (err) {
    process.stderr.write(`egress: ${errors.from(err).message}\n`);
    return 2;
  }
  const { config, warnings } = loaded;
  const log = createLogger({
    level: config.logging.level,
    json: config.logging.json,
    fields: { nodeID: config.node_id },
  });
  onEarly = (signal) => log.info('signal during start-up: exiting once started', { signal });
  if (early) onEarly(early);
  for (const w of warnings) log.warn(w);
  log.debug('effective config', { config: redactConfig(config) });

  // A missing bucket or a wrong key is an operator's mistake to see at start-up, not after the first recording.
  if (config.storage && !isLocalStorage(config.storage)) {
    try {
      // Loaded only here: a node without storage never pays for the SDKs.
      const [{ DeliveryTarget }, { endpointsFromEnv }] = await Promise.all([
        import('@egress/recorder/storage/delivery-target'),
        import('@egress/recorder/storage/backends'),
      ]);
      const target = DeliveryTarget.create(config.storage, config.backup, {
        localRoot: config.local_output_dir,
        ...endpointsFromEnv(process.env),
      });
      for (const w of await target.verify()) log.warn(w);
      log.info('storage checked');
    } catch (err) {
      log.error('storage is not usable', { error: errors.from(err).message });
      return 1;
    }
  }

  // Room-composite templates on loopback for the recorders' Chromium (template_port 0 = off), up before any
  // request can need them.
  let templates: Awaited<ReturnType<typeof startTemplateServer>> | undefined;
  if (config.template_port) {
    try {
      templates = await startTemplateServer(config.template_port, defaultTemplateRoot());
    } catch (err) {
      log.error('could not serve the web templates', {
        template_port: config.template_port,
        error: errors.from(err).message,
      });
      return 1;
    }
  }
  if (early) {
    templates?.close();
    log.info('shut down cleanly');
    return 0;
  }
  const supervisor = new Supervisor({ config, log });
  try {
    await supervisor.start();
  } catch (err) {
    log.error('could not start', { error: errors.from(err).message });
    templates?.close();
    return 1;
  }
  const health = config.health_port ? await startHealthServer(config.health_port, supervisor) : undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (config.prometheus_port) {
    const metrics = new EgressMetrics(supervisor, { nodeId: config.node_id, clusterId: config.cluster_id });
    supervisor.onResult = (type, result) => metrics.recordResult(type, result);
    supervisor.onRestart = (type) => metrics.recordRestart(type);
    metricsServer = await startMetricsServer(config.prometheus_port, metrics);
  }
  // A bug in one request's handling must not take down the recordings of others.
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: String(reason) }));

  return await new Promise<number>((resolve) => {
    let shutting: Promise<void> | undefined;
    onSignal = (signal: NodeJS.Signals) => {
      const mode: ShutdownMode = signal === 'SIGINT' ? 'finalize' : 'drain';
      if (shutting) {
        // A second signal turns a drain into a finalize: still EOS, never a truncated file.
        log.warn('second signal: finalizing every egress now', { signal });
        void supervisor.shutdown('finalize');
        return;
      }
      log.info(
        mode === 'drain' ? 'draining: finishing recordings, then exiting' : 'stopping every recording, then exiting',
        {
          signal,
        },
      );
      shutting = supervisor.shutdown(mode).then(
        () => {
          health?.close();
          templates?.close();
          metricsServer?.close();
          log.info('shut down cleanly');
          resolve(0);
        },
        (err: unknown) => {
          log.error('shutdown failed', { error: errors.from(err).message });
          resolve(1);
        },
      );
    };
    if (early) onSignal(early);
  });
}
