/**
 * A psrpc server for one service: answers requests published by livekit-server (or any psrpc client)
 * with the same claim/affinity, queue and multi semantics as psrpc v0.7.
 */
import type { Message, MessageType } from '@bufbuild/protobuf';
import { capErrorText, EgressError, errorMessage, errors } from '../errors.js';
import type { BusHandler, RedisBus } from './bus.js';
import { claimRequestChannel, claimResponseChannel, requestChannel, responseChannel, type Topic } from './channels.js';
import { MAX_TIMER_MS, msUntil, nowNs } from './clock.js';
import { decodeEnvelope, decodePayload, encodeEnvelope } from './envelope.js';
import { newId } from './ids.js';
import { ClaimRequest, ClaimResponse, PsrpcRequest, PsrpcResponse } from './messages.js';
import { safeCall, type PsrpcHooks } from './reporting.js';

/** What a handler knows about the call it serves. */
export interface HandlerContext {
  requestId: string;
  clientId: string;
  serverId: string;
  /** Unix milliseconds after which the caller no longer waits for the answer. */
  deadline: number;
  /** Aborted at the deadline. */
  signal: AbortSignal;
  /** The caller's outgoing metadata (e.g. W3C `traceparent`). */
  metadata: Readonly<Record<string, string>>;
}

/** Serves one request; a thrown EgressError reaches the caller with its code, anything else as `internal`. */
export type Handler<Req, Res> = (req: Req, ctx: HandlerContext) => Promise<Res>;

/** One method served on one topic. */
export interface MethodDefinition<Req extends Message<Req>, Res extends Message<Res>> {
  /** Proto method name, e.g. `StartEgress`. */
  method: string;
  /** `undefined`, `''` and `[]` all mean no topic segment. */
  topic?: Topic;
  requestType: MessageType<Req>;
  handler: Handler<Req, Res>;
}

/** An affinity method: every server bids and the client picks one. */
export interface AffinityMethodDefinition<Req extends Message<Req>, Res extends Message<Res>> extends MethodDefinition<
  Req,
  Res
> {
  /** This server's bid; negative means no bid. Clients only accept bids above 0. */
  affinity: (req: Req) => number;
}

/** Construction options of a PsrpcServer. */
export interface PsrpcServerOptions extends PsrpcHooks {
  /** Defaults to a fresh `SRV_…` id. */
  serverId?: string;
  /** Upper bound on waiting for the client's claim decision, whatever the request's expiry says. */
  maxClaimWaitMs?: number;
}

type Kind = 'affinity' | 'queue' | 'multi';

interface PendingClaim {
  settle(won: boolean): void;
}

interface Registration {
  requestChannel: string;
  /** Only for methods that need a claim. */
  claimChannel?: string;
  onRequest: BusHandler;
  onClaim: BusHandler;
  /** Claim decisions awaited, by request id. */
  claims: Map<string, PendingClaim>;
}

type ErasedDefinition = MethodDefinition<Message, Message> & { affinity?: (req: Message) => number };

interface Reply {
  rawResponse?: Uint8Array;
  error?: EgressError;
}

const DEFAULT_MAX_CLAIM_WAIT_MS = 60_000;

/** Serves the methods of one psrpc service (`EgressInternal`, `EgressHandler`, …) over a shared RedisBus. */
export class PsrpcServer {
  /** This server's id (`SRV_…`), named in its bids and responses. */
  readonly id: string;
  private readonly registrations = new Map<string, Registration>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly maxClaimWaitMs: number;

  constructor(
    private readonly bus: RedisBus,
    /** Proto service name. */
    readonly service: string,
    private readonly options: PsrpcServerOptions = {},
  ) {
    this.id = options.serverId ?? newId('SRV_');
    this.maxClaimWaitMs = options.maxClaimWaitMs ?? DEFAULT_MAX_CLAIM_WAIT_MS;
  }

  /** Serves an affinity method: bid `affinity(req)` on every request, handle it if the client picks us. */
  registerAffinity<Req extends Message<Req>, Res extends Message<Res>>(
    def: AffinityMethodDefinition<Req, Res>,
  ): Promise<void> {
    return this.register('affinity', def as unknown as ErasedDefinition);
  }

  /** Serves a queue method: one process per request (Redis lock), bidding 1. */
  registerQueue<Req extends Message<Req>, Res extends Message<Res>>(def: MethodDefinition<Req, Res>): Promise<void> {
    return this.register('queue', def as unknown as ErasedDefinition);
  }

  /** Serves a multi method: no claim, every server answers. */
  registerMulti<Req extends Message<Req>, Res extends Message<Res>>(def: MethodDefinition<Req, Res>): Promise<void> {
    return this.register('multi', def as unknown as ErasedDefinition);
  }

  /** Stops serving a method; requests already being handled still get their response. */
  async deregister(method: string, topic?: Topic): Promise<void> {
    const key = requestChannel(this.service, method, topic);
    const reg = this.registrations.get(key);
    if (!reg) return;
    this.registrations.delete(key);
    await this.release(reg);
  }

  /** Deregisters everything, then waits for requests in flight to be answered. */
  async close(): Promise<void> {
    const regs = [...this.registrations.values()];
    this.registrations.clear();
    await Promise.allSettled(regs.map((reg) => this.release(reg)));
    await Promise.allSettled([...this.inflight]);
  }

  private async register(kind: Kind, def: ErasedDefinition): Promise<void> {
    const key = requestChannel(this.service, def.method, def.topic);
    if (this.registrations.has(key)) throw errors.alreadyExists(`psrpc handler for ${key}`);
    const reg: Registration = {
      requestChannel: key,
      ...(kind === 'multi' ? {} : { claimChannel: claimResponseChannel(this.service, def.method, def.topic) }),
      onRequest: (payload) => this.track(this.handleRequest(kind, def, reg, payload)),
      onClaim: (payload) => this.handleClaim(reg, payload),
      claims: new Map(),
    };
    this.registrations.set(key, reg);
    try {
      // The decision channel first, so no request can be bid on before its decision can be heard.
      if (reg.claimChannel) await this.bus.subscribe(reg.claimChannel, reg.onClaim);
      await this.bus.subscribe(reg.requestChannel, reg.onRequest);
    } catch (err) {
      if (this.registrations.get(key) === reg) this.registrations.delete(key);
      await this.release(reg).catch(() => {});
      throw err;
    }
  }

  private async release(reg: Registration): Promise<void> {
    for (const pending of [...reg.claims.values()]) pending.settle(false);
    await this.bus.unsubscribe(reg.requestChannel, reg.onRequest);
    if (reg.claimChannel) await this.bus.unsubscribe(reg.claimChannel, reg.onClaim);
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((err: unknown) => this.error(err, 'handling request'));
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
    return tracked;
  }

  private async handleRequest(kind: Kind, def: ErasedDefinition, reg: Registration, payload: Buffer): Promise<void> {
    let ir: PsrpcRequest;
    try {
      ir = decodeEnvelope(payload, PsrpcRequest);
    } catch (err) {
      this.badInput(reg.requestChannel, err);
      return;
    }
    if (nowNs() >= ir.expiry) return;
    if (kind === 'queue' && !(await this.bus.lock(payload))) return;

    let req: Message;
    try {
      req = decodePayload(def.requestType, ir.rawRequest, 'malformed_request');
    } catch (err) {
      this.badInput(reg.requestChannel, err);
      await this.respond(ir, { error: errors.from(err, 'malformed_request') });
      return;
    }

    if (reg.claimChannel) {
      const bid = kind === 'affinity' ? this.affinity(def, req) : 1;
      // Negative (or NaN) means no bid: psrpc then sends nothing at all.
      if (!(bid >= 0)) return;
      if (!(await this.claim(reg, ir, bid))) return;
    }

    await this.respond(ir, await this.invoke(def, req, ir));
  }

  private affinity(def: ErasedDefinition, req: Message): number {
    try {
      return def.affinity?.(req) ?? 1;
    } catch (err) {
      this.error(err, `affinity of ${def.method}`);
      return -1;
    }
  }

  /** Bids for a request and resolves true only if the client's decision names this server. */
  private async claim(reg: Registration, ir: PsrpcRequest, affinity: number): Promise<boolean> {
    const waitMs = Math.min(msUntil(ir.expiry), this.maxClaimWaitMs, MAX_TIMER_MS);
    // A duplicate of a request already being claimed is the same call; bidding twice would only confuse.
    if (waitMs <= 0 || reg.claims.has(ir.requestId)) return false;
    const decision = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => pending.settle(false), waitMs);
      const pending: PendingClaim = {
        settle: (won) => {
          clearTimeout(timer);
          reg.claims.delete(ir.requestId);
          resolve(won);
        },
      };
      reg.claims.set(ir.requestId, pending);
    });
    const bid = new ClaimRequest({ requestId: ir.requestId, serverId: this.id, affinity });
    try {
      await this.bus.publish(claimRequestChannel(this.service, ir.clientId), encodeEnvelope(bid));
    } catch (err) {
      reg.claims.get(ir.requestId)?.settle(false);
      throw err;
    }
    return decision;
  }

  private handleClaim(reg: Registration, payload: Buffer): void {
    let decision: ClaimResponse;
    try {
      decision = decodeEnvelope(payload, ClaimResponse);
    } catch (err) {
      this.badInput(reg.claimChannel ?? reg.requestChannel, err);
      return;
    }
    reg.claims.get(decision.requestId)?.settle(decision.serverId === this.id);
  }

  private async invoke(def: ErasedDefinition, req: Message, ir: PsrpcRequest): Promise<Reply> {
    const deadline = Number(ir.expiry / 1_000_000n);
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(errors.deadlineExceeded('request expired')),
      Math.min(Math.max(deadline - Date.now(), 0), MAX_TIMER_MS),
    );
    const ctx: HandlerContext = {
      requestId: ir.requestId,
      clientId: ir.clientId,
      serverId: this.id,
      deadline,
      signal: abort.signal,
      metadata: ir.metadata,
    };
    let result: Message;
    try {
      result = await def.handler(req, ctx);
    } catch (err) {
      if (!(err instanceof EgressError)) this.error(err, `handler of ${def.method}`);
      return { error: errors.from(err, 'internal') };
    } finally {
      clearTimeout(timer);
    }
    try {
      return { rawResponse: result.toBinary() };
    } catch (err) {
      return { error: new EgressError('malformed_result', `cannot encode result: ${errorMessage(err)}`) };
    }
  }

  private async respond(ir: PsrpcRequest, reply: Reply): Promise<void> {
    const res = new PsrpcResponse({
      requestId: ir.requestId,
      serverId: this.id,
      sentAt: nowNs(),
      ...(reply.rawResponse ? { rawResponse: reply.rawResponse } : {}),
      ...(reply.error ? { error: capErrorText(reply.error.message), code: reply.error.code } : {}),
    });
    await this.bus.publish(responseChannel(this.service, ir.clientId), encodeEnvelope(res));
  }

  private badInput(channel: string, err: unknown): void {
    safeCall(this.options.onBadInput, { service: this.service, channel, reason: errorMessage(err) });
  }

  private error(err: unknown, context: string): void {
    safeCall(this.options.onError, err, `${this.service}: ${context}`);
  }
}
