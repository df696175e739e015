/** psrpc over Redis, wire-compatible with livekit-server's psrpc v0.7. */
export { RedisBus, parseRedisAddress, redisOptions } from './bus.js';
export type { BusErrorReporter, BusHandler, RedisConfig } from './bus.js';
export {
  claimRequestChannel,
  claimResponseChannel,
  formatChannel,
  requestChannel,
  responseChannel,
  topicParts,
} from './channels.js';
export type { Topic } from './channels.js';
export { PsrpcClient } from './client.js';
export type { MultiOptions, MultiResult, PsrpcClientOptions, RequestOptions } from './client.js';
export { decodeEnvelope, decodePayload, encodeEnvelope } from './envelope.js';
export { newId } from './ids.js';
export {
  ClaimRequest,
  ClaimResponse,
  ListActiveEgressRequest,
  ListActiveEgressResponse,
  PsrpcRequest,
  PsrpcResponse,
  RpcStartEgressRequest,
} from './messages.js';
export type { RpcStartEgressRequestKind } from './messages.js';
export type { BadInput, PsrpcHooks } from './reporting.js';
export { PsrpcServer } from './server.js';
export type {
  AffinityMethodDefinition,
  Handler,
  HandlerContext,
  MethodDefinition,
  PsrpcServerOptions,
} from './server.js';
