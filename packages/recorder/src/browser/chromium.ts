/**
 * Chromium showing the page to record, full screen on the recording's X display, playing into the
 * recording's pulse sink. We spawn Chromium ourselves and attach puppeteer over the DevTools pipe:
 * puppeteer's launch() puts the browser in its own process group and installs process-wide signal
 * handlers (SIGINT -> process.exit), and both would defeat the recorder's teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { connect, type Browser, type ConnectionTransport, type ConsoleMessage, type Page } from 'puppeteer-core';
import treeKill from 'tree-kill';
import { EgressError, redactTokenParams, redactUrlToken, type ChromePlan } from '@egress/shared';
import { childEnv } from '@egress/shared/host/child-env';
import { consoleRelay } from './console-relay.js';
import { descendantsOf } from '@egress/shared/host/procfs';
import { delay, describeExit, exitOf, isRunning, terminate, terminatePids } from '@egress/shared/host/terminate';
import { tailOutput } from '../media/process.js';

/** Where and how Chromium runs. */
export interface ChromiumOptions {
  chrome: ChromePlan;
  /** X display, e.g. ":3". */
  display: string;
  /** Xauthority file holding the display's cookie, when it has one. */
  xauthority?: string;
  /** Pulse sink Chromium plays into. */
  pulseSink: string;
  width: number;
  height: number;
  /** Profile directory (inside the recording's scratch dir). */
  userDataDir: string;
  /** Receives Chromium's output lines and the page's console messages. */
  log?: (line: string) => void;
  /** Bound on spawn + DevTools attach (default 15000 ms). */
  launchTimeoutMs?: number;
}

/** Events of a {@link Chromium}. */
export interface ChromiumEvents {
  /** The page printed START_RECORDING. */
  startRecording: [];
  /** The page printed END_RECORDING. */
  endRecording: [];
  /** Chromium went away without close() being called; the argument says how. */
  disconnected: [why: string];
  /** The recorded page's renderer crashed (out of memory, say): the screen now shows a sad tab. */
  crashed: [why: string];
  /** A non-empty `div.error` appeared on the page (at load or any time after): the page's own failure. */
  templateError: [text: string];
}

/** The signals a page prints to the console (upstream's template SDK protocol). */
const START_SIGNAL = 'START_RECORDING';
const END_SIGNAL = 'END_RECORDING';

const CLOSE_GRACE_MS = 2000;
/** How long SIGKILLed helpers may take to be gone. */
const HELPERS_GONE_MS = 1000;

/** The page-side function the div.error watcher calls; a name no page would pick. */
const ERROR_DIV_BINDING = '__egressErrorDiv';

/**
 * Runs in every document the page loads: reports each new non-empty `div.error` text through the binding.
 * A template shows its failures (bad token, unreachable server) that way, often long after the load event.
 */
function watchErrorDiv(binding: string): void {
  let reported = '';
  const check = (): void => {
    const div = document.querySelector('div.error');
    const text = div instanceof HTMLElement ? div.innerText.trim() : '';
    if (!text || text === reported) return;
    reported = text;
    (window as unknown as Record<string, (t: string) => void>)[binding]?.(text);
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
}

/** An error text with the page URL in it as errors may show it: without a `token` query value. */
export function redactPageToken(text: string, url: string): string {
  return redactTokenParams(text.split(url).join(redactUrlToken(url)));
}
/** Chromium's command line (without the executable). Flags in `chrome.extraFlags` replace ours by name. */
export function chromiumArgs(
  options: Omit<ChromiumOptions, 'log' | 'launchTimeoutMs' | 'pulseSink' | 'display'>,
): string[] {
  const { chrome, width, height, userDataDir } = options;
  const flags = new Map<string, string>();
  const bare = (...names: string[]): void => names.forEach((n) => flags.set(n, ''));
  if (!chrome.sandbox) bare('no-sandbox');
  bare(
    'disable-gpu',
    // Mandatory: no update checks, safe-browsing fetches or other traffic of Chromium's own.
    'disable-background-networking',
    'disable-component-update',
    'disable-sync',
    'disable-default-apps',
    'disable-extensions',
    'disable-breakpad',
    'disable-client-side-phishing-detection',
    // A recorded page is never "in the background": keep timers, rendering and IPC at full speed.
    'disable-background-timer-throttling',
    'disable-backgrounding-occluded-windows',
    'disable-renderer-backgrounding',
    'disable-ipc-flooding-protection',
    'disable-hang-monitor',
    'disable-popup-blocking',
    'disable-prompt-on-repost',
    'disable-infobars',
    'disable-search-engine-choice-screen',
    'metrics-recording-only',
    'no-first-run',
    'no-default-browser-check',
    'use-mock-keychain',
    'kiosk',
    // /dev/shm is small in containers; Chromium's own check of it prints a shell error on Debian.
    'disable-dev-shm-usage',
  );
  flags.set('disable-features', 'Translate,MediaRouter,OptimizationHints');
  flags.set('password-store', 'basic');
  flags.set('force-color-profile', 'srgb');
  flags.set('autoplay-policy', 'no-user-gesture-required');
  flags.set('window-position', '0,0');
  flags.set('window-size', `${width},${height}`);
  flags.set('user-data-dir', userDataDir);
  if (chrome.insecure) bare('disable-web-security', 'allow-running-insecure-content');
  for (const [name, value] of Object.entries(chrome.extraFlags)) flags.set(name.replace(/^-+/, ''), value);
  // The DevTools pipe (fds 3 and 4) is how puppeteer talks to this browser.
  bare('remote-debugging-pipe');
  return [...[...flags].map(([name, value]) => (value === '' ? `--${name}` : `--${name}=${value}`)), 'about:blank'];
}

/** Puppeteer transport over Chromium's --remote-debugging-pipe: NUL-terminated JSON both ways. */
class PipeTransport implements ConnectionTransport {
  onmessage?: (message: string) => void;
  onclose?: () => void;
  private pending: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly output: Writable,
    input: Readable,
  ) {
    input.on('data', (chunk: Buffer) => this.onData(chunk));
    input.on('close', () => this.onclose?.());
    // A dying browser breaks the pipes; its exit is reported elsewhere.
    input.on('error', () => {});
    output.on('error', () => {});
  }

  send(message: string): void {
    if (!this.closed) this.output.write(`${message}\0`);
  }

  close(): void {
    this.closed = true;
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(0); end !== -1; end = chunk.indexOf(0, start)) {
      const message = Buffer.concat([...this.pending, chunk.subarray(start, end)]).toString();
      this.pending = [];
      start = end + 1;
      // Deliver asynchronously and in order, as puppeteer's own pipe transport does.
      setImmediate(() => this.onmessage?.(message));
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }
}

/** A running Chromium with the page to record. */
export class Chromium extends EventEmitter<ChromiumEvents> {
  private closing: Promise<void> | undefined;
  private watchingErrors: Promise<void> | undefined;
  /** The page's console and errors, bounded in rate and line length: the page must not flood the logs. */
  private readonly pageLog: (line: string) => void;

  private constructor(
    private readonly child: ChildProcess,
    private readonly browser: Browser,
    /** The page being recorded. */
    readonly page: Page,
    private readonly log: (line: string) => void,
  ) {
    super();
    this.pageLog = consoleRelay(log);
    void exitOf(child).then((status) => {
      if (!this.closing) this.emit('disconnected', `Chromium exited unexpectedly (${describeExit(status)})`);
    });
    page.on('console', (message) => this.onConsole(message));
    page.on('pageerror', (error) =>
      this.pageLog(`page error: ${error instanceof Error ? error.message : String(error)}`),
    );
    // A renderer crash leaves a sad tab on screen; upstream keeps recording it, we end (or restart) instead.
    page.on('error', (error) => {
      log(`page crashed: ${error.message}`);
      if (!this.closing) this.emit('crashed', `Chromium's page crashed (${error.message})`);
    });
  }

  /** Chromium's browser process id. */
  get pid(): number {
    return this.child.pid as number;
  }

  /** Starts Chromium and attaches to its first tab; on failure nothing is left running. */
  static async launch(options: ChromiumOptions): Promise<Chromium> {
    const sink = options.log ?? (() => {});
    // Any line from Chromium or the page may name a URL carrying the room token (a failed WebSocket, say).
    const log = (line: string): void => sink(redactTokenParams(line));
    const timeoutMs = options.launchTimeoutMs ?? 15_000;
    // Chromium's singleton socket and shared-memory files go to TMPDIR; keep them inside the profile so
    // they disappear with it, even when Chromium is killed.
    const tmpDir = join(options.userDataDir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const child = spawn(options.chrome.executablePath, chromiumArgs(options), {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: false,
      env: childEnv({
        DISPLAY: options.display,
        XAUTHORITY: options.xauthority,
        PULSE_SINK: options.pulseSink,
        TMPDIR: tmpDir,
      }),
    });
    const output = tailOutput(child, log);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

    const attach = async (): Promise<{ browser: Browser; page: Page }> => {
      const transport = new PipeTransport(child.stdio[3] as Writable, child.stdio[4] as Readable);
      const browser = await connect({ transport, defaultViewport: null, protocolTimeout: 40_000 });
      const target = await browser.waitForTarget((t) => t.type() === 'page', { timeout: timeoutMs });
      const page = await target.page();
      if (!page) throw new Error('first tab has no page');
      return { browser, page };
    };
    const attached = attach();
    const outcome = await Promise.race([
      attached.then(
        (v) => ({ ok: true as const, ...v }),
        (err: unknown) => ({ ok: false as const, why: err instanceof Error ? err.message : String(err) }),
      ),
      spawnError.then((err) => ({ ok: false as const, why: err.message })),
      exitOf(child).then((s) => ({ ok: false as const, why: `exited during startup (${describeExit(s)})` })),
      delay(timeoutMs).then(() => ({ ok: false as const, why: `not ready within ${timeoutMs} ms` })),
    ]);
    if (!outcome.ok) {
      // A late attach must not keep a connection to the process being killed.
      void attached.then(({ browser }) => browser.disconnect()).catch(() => {});
      await killTree(child);
      const tail = output.length ? `: ${output.slice(-5).join(' | ')}` : '';
      throw new EgressError('internal', `Chromium failed to start (${outcome.why})${tail}`);
    }
    return new Chromium(child, outcome.browser, outcome.page, log);
  }

  /**
   * Opens `url` and checks it: a navigation error or HTTP status >= 400 is a page load failure, and a
   * non-empty `div.error` on the loaded page is the template reporting its own failure.
   */
  async load(url: string, timeoutMs = 30_000): Promise<void> {
    let status: number | undefined;
    let statusText = '';
    try {
      await this.watchErrorDiv();
      const response = await this.page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
      status = response?.status();
      statusText = response?.statusText() ?? '';
    } catch (err) {
      const why = redactPageToken(err instanceof Error ? err.message : String(err), url);
      throw new EgressError('unavailable', `page load failed: ${why}`);
    }
    if (status !== undefined && status >= 400) {
      throw new EgressError('unavailable', `page load failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
    }
    const templateError = await this.page.evaluate(() => {
      const div = document.querySelector('div.error');
      return div instanceof HTMLElement ? div.innerText.trim() : '';
    });
    if (templateError)
      throw new EgressError('failed_precondition', `template error: ${redactTokenParams(templateError)}`);
  }

  /** Installs the div.error watcher for every document this page will load; once. */
  private watchErrorDiv(): Promise<void> {
    this.watchingErrors ??= (async () => {
      await this.page.exposeFunction(ERROR_DIV_BINDING, (text: string) => {
        this.log(`div.error: ${text}`);
        if (!this.closing) this.emit('templateError', redactTokenParams(String(text)));
      });
      await this.page.evaluateOnNewDocument(watchErrorDiv, ERROR_DIV_BINDING);
    })();
    return this.watchingErrors;
  }

  /** Closes Chromium and makes sure its whole process tree is gone; idempotent, never hangs. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (!isRunning(this.child)) {
      await this.browser.disconnect().catch(() => {});
      return;
    }
    const tree = descendantsOf(this.pid);
    // Ask nicely, but a hung browser or CDP connection must not hold teardown up.
    await Promise.race([this.browser.close().catch(() => {}), delay(CLOSE_GRACE_MS)]);
    await killTree(this.child);
    // Helpers orphaned by an early browser exit are no longer in the tree that tree-kill walks.
    await terminatePids(tree, 'SIGKILL', HELPERS_GONE_MS);
  }

  private onConsole(message: ConsoleMessage): void {
    const values = message.args().map((arg) => arg.remoteObject().value as unknown);
    if (values.includes(START_SIGNAL)) this.emit('startRecording');
    if (values.includes(END_SIGNAL)) this.emit('endRecording');
    this.pageLog(`console.${message.type()}: ${message.text()}`);
  }
}

/** SIGKILLs the browser process and every descendant, then waits for the browser process to exit. */
async function killTree(child: ChildProcess): Promise<void> {
  if (isRunning(child) && child.pid !== undefined) {
    const pid = child.pid;
    await new Promise<void>((resolve) => treeKill(pid, 'SIGKILL', () => resolve()));
  }
  await terminate(child, 'SIGKILL', CLOSE_GRACE_MS);
}
