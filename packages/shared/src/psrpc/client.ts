/**
 * A psrpc client for one service (the egress calls livekit-server's `IOInfo`): single calls with the
 * claim handshake (first bid above 0 wins), and multi calls that collect every server's answer.
 */
import type { Message, MessageType } from '@bufbuild/protobuf';
import { EgressError, errorMessage, errors, isErrorCode } from '../errors.js';
import type { BusHandler, RedisBus } from './bus.js';
import { claimRequestChannel, claimResponseChannel, requestChannel, responseChannel, type Topic } from './channels.js';
import { msToNs } from './clock.js';
import { decodeEnvelope, decodePayload, encodeEnvelope } from './envelope.js';
import { newId } from './ids.js';
import { Inbox } from './inbox.js';
import { ClaimRequest, ClaimResponse, PsrpcRequest, PsrpcResponse } from './messages.js';
import { safeCall, type PsrpcHooks } from './reporting.js';

/** Options of one multi call. */
export interface MultiOptions {
  /** How long to collect answers; also the request's expiry. */
  timeoutMs: number;
  /** Ends the call early (a single call then fails with `canceled`; a multi call returns what it has). */
  signal?: AbortSignal;
  /** Sent as the request's metadata map (e.g. W3C trace context). */
  metadata?: Record<string, string>;
}

/** Options of one single call. */
export interface RequestOptions extends MultiOptions {
  /** How long to wait for a bid; defaults to the whole timeout (psrpc's 0). */
  selectionTimeoutMs?: number;
}

/** One server's answer to a multi call. */
export interface MultiResult<Res> {
  serverId: string;
  result?: Res;
  error?: EgressError;
}

/** Construction options of a PsrpcClient. */
export interface PsrpcClientOptions extends PsrpcHooks {
  /** Defaults to a fresh `CLI_…` id. */
  clientId?: string;
}

type Incoming = { kind: 'claim'; claim: ClaimRequest } | { kind: 'response'; response: PsrpcResponse };

/** Calls the methods of one psrpc service over a shared RedisBus. Build it with `PsrpcClient.create`. */
export class PsrpcClient {
  private readonly pending = new Map<string, Inbox<Incoming>>();
  private readonly responseChannel: string;
  private readonly claimChannel: string;
  private readonly onResponse: BusHandler = (payload) => this.route(this.responseChannel, payload, 'response');
  private readonly onClaim: BusHandler = (payload) => this.route(this.claimChannel, payload, 'claim');
  private closed = false;

  private constructor(
    private readonly bus: RedisBus,
    /** Proto service name. */
    readonly service: string,
    /** This client's id (`CLI_…`); servers answer on channels named after it. */
    readonly id: string,
    private readonly hooks: PsrpcHooks,
  ) {
    this.responseChannel = responseChannel(service, id);
    this.claimChannel = claimRequestChannel(service, id);
  }

  /** Creates a client and subscribes its `…|RES` and `…|CLAIM` channels before returning. */
  static async create(bus: RedisBus, service: string, options: PsrpcClientOptions = {}): Promise<PsrpcClient> {
    const client = new PsrpcClient(bus, service, options.clientId ?? newId('CLI_'), options);
    try {
      await bus.subscribe(client.responseChannel, client.onResponse);
      await bus.subscribe(client.claimChannel, client.onClaim);
    } catch (err) {
      await client.close().catch(() => {});
      throw err;
    }
    return client;
  }

  /**
   * One call with the claim handshake. Fails with `unavailable "no response from servers"` when nobody bids
   * in time, `deadline_exceeded "request timed out"` when the chosen server doesn't answer in time, or the
   * server's own error code and message.
   */
  async request<Res extends Message<Res>>(
    method: string,
    topic: Topic | undefined,
    req: Message,
    responseType: MessageType<Res>,
    options: RequestOptions,
  ): Promise<Res> {
    const start = Date.now();
    const expiryMs = start + options.timeoutMs;
    const selectionMs = options.selectionTimeoutMs ? Math.min(start + options.selectionTimeoutMs, expiryMs) : expiryMs;
    return this.call(req, false, options, async (requestId, inbox) => {
      await this.publish(requestChannel(this.service, method, topic), this.envelope(requestId, req, false, options));
      const serverId = await selectServer(inbox, selectionMs);
      const decision = new ClaimResponse({ requestId, serverId });
      await this.publish(claimResponseChannel(this.service, method, topic), encodeEnvelope(decision));
      for (;;) {
        const next = await inbox.next(expiryMs);
        if (next.kind === 'timeout') throw new EgressError('deadline_exceeded', 'request timed out');
        if (next.kind === 'canceled') throw next.error;
        // Late bids from losing servers are expected and ignored.
        if (next.item.kind === 'response') return decodeResult(next.item.response, responseType);
      }
    });
  }

  /** A multi call: every server answers; collects the answers until the timeout. Zero answers is no error. */
  async multi<Res extends Message<Res>>(
    method: string,
    topic: Topic | undefined,
    req: Message,
    responseType: MessageType<Res>,
    options: MultiOptions,
  ): Promise<MultiResult<Res>[]> {
    const expiryMs = Date.now() + options.timeoutMs;
    return this.call(req, true, options, async (requestId, inbox) => {
      await this.publish(requestChannel(this.service, method, topic), this.envelope(requestId, req, true, options));
      const results: MultiResult<Res>[] = [];
      for (;;) {
        const next = await inbox.next(expiryMs);
        if (next.kind !== 'item') return results;
        if (next.item.kind !== 'response') continue;
        const { serverId } = next.item.response;
        try {
          results.push({ serverId, result: decodeResult(next.item.response, responseType) });
        } catch (err) {
          results.push({ serverId, error: errors.from(err, 'malformed_result') });
        }
      }
    });
  }

  /** Unsubscribes; calls still pending fail with `canceled`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const inbox of this.pending.values()) inbox.cancel(new EgressError('canceled', 'client is closed'));
    await this.bus.unsubscribe(this.responseChannel, this.onResponse);
    await this.bus.unsubscribe(this.claimChannel, this.onClaim);
  }

  /** Runs one call with its inbox registered, cancellation wired, and everything removed afterwards. */
  private async call<T>(
    req: Message,
    multi: boolean,
    options: MultiOptions,
    body: (requestId: string, inbox: Inbox<Incoming>) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new EgressError('canceled', 'client is closed');
    if (options.signal?.aborted) throw new EgressError('canceled', 'request canceled');
    const requestId = newId('REQ_');
    const inbox = new Inbox<Incoming>();
    const onAbort = (): void => inbox.cancel(new EgressError('canceled', 'request canceled'));
    this.pending.set(requestId, inbox);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await body(requestId, inbox);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.pending.delete(requestId);
      inbox.cancel(new EgressError('canceled', multi ? 'multi call finished' : 'request finished'));
    }
  }

  private envelope(requestId: string, req: Message, multi: boolean, options: MultiOptions): Uint8Array {
    let rawRequest: Uint8Array;
    try {
      rawRequest = req.toBinary();
    } catch (err) {
      throw new EgressError('malformed_request', `cannot encode request: ${errorMessage(err)}`);
    }
    const now = Date.now();
    return encodeEnvelope(
      new PsrpcRequest({
        requestId,
        clientId: this.id,
        sentAt: msToNs(now),
        expiry: msToNs(now + options.timeoutMs),
        multi,
        rawRequest,
        metadata: options.metadata ?? {},
      }),
    );
  }

  private async publish(channel: string, payload: Uint8Array): Promise<void> {
    try {
      await this.bus.publish(channel, payload);
    } catch (err) {
      throw errors.from(err, 'internal');
    }
  }

  private route(channel: string, payload: Buffer, kind: Incoming['kind']): void {
    let incoming: Incoming;
    try {
      incoming =
        kind === 'claim'
          ? { kind, claim: decodeEnvelope(payload, ClaimRequest) }
          : { kind, response: decodeEnvelope(payload, PsrpcResponse) };
    } catch (err) {
      safeCall(this.hooks.onBadInput, { service: this.service, channel, reason: errorMessage(err) });
      return;
    }
    const requestId = incoming.kind === 'claim' ? incoming.claim.requestId : incoming.response.requestId;
    // Answers to calls that already ended (late bids, late replies) are normal and dropped.
    this.pending.get(requestId)?.push(incoming);
  }
}

/**
 * psrpc's selection with AcceptFirstAvailable: the first bid above 0 wins. Until `untilMs` an error reply
 * (a server refusing a malformed request) is remembered and reported if nobody bids.
 */
async function selectServer(inbox: Inbox<Incoming>, untilMs: number): Promise<string> {
  let bids = 0;
  let refusal: EgressError | undefined;
  for (;;) {
    const next = await inbox.next(untilMs);
    if (next.kind === 'canceled') throw next.error;
    if (next.kind === 'timeout') {
      if (refusal) throw refusal;
      if (bids > 0) throw errors.unavailable(`no servers available (received ${bids} responses)`);
      throw errors.unavailable('no response from servers');
    }
    if (next.item.kind === 'claim') {
      bids++;
      if (next.item.claim.affinity > 0) return next.item.claim.serverId;
    } else if (next.item.response.error) {
      refusal = responseError(next.item.response);
    }
  }
}

function responseError(res: PsrpcResponse): EgressError {
  return new EgressError(isErrorCode(res.code) ? res.code : 'unknown', res.error);
}

function decodeResult<Res extends Message<Res>>(res: PsrpcResponse, type: MessageType<Res>): Res {
  if (res.error) throw responseError(res);
  return decodePayload(type, res.rawResponse, 'malformed_result');
}
