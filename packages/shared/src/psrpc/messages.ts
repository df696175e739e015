/**
 * Protobuf message types psrpc puts on the wire (package `internal`) and the egress rpc types
 * (package `rpc`), built at runtime with protobuf-es v1 because @livekit/protocol ships neither.
 * Type names are exact so that `Any.pack` produces psrpc's type URLs.
 */
import { Any, type Message, proto3, ScalarType } from '@bufbuild/protobuf';
import {
  ExportReplayRequest,
  ParticipantEgressRequest,
  RoomCompositeEgressRequest,
  StartEgressRequest,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
  WebEgressRequest,
} from '@livekit/protocol';

/** psrpc `internal.Request`: one RPC call, published by a client on `…|REQ`. */
export interface PsrpcRequest extends Message<PsrpcRequest> {
  requestId: string;
  clientId: string;
  /** Unix nanoseconds. */
  sentAt: bigint;
  /** Unix nanoseconds; servers drop the request once `now >= expiry`. */
  expiry: bigint;
  multi: boolean;
  /** Legacy payload, neither set nor read by psrpc v0.7. */
  request?: Any;
  metadata: { [key: string]: string };
  rawRequest: Uint8Array;
}

export const PsrpcRequest = proto3.makeMessageType<PsrpcRequest>('internal.Request', () => [
  { no: 1, name: 'request_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 2, name: 'client_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 3, name: 'sent_at', kind: 'scalar', T: ScalarType.INT64 },
  { no: 4, name: 'expiry', kind: 'scalar', T: ScalarType.INT64 },
  { no: 5, name: 'multi', kind: 'scalar', T: ScalarType.BOOL },
  { no: 6, name: 'request', kind: 'message', T: Any },
  { no: 7, name: 'metadata', kind: 'map', K: ScalarType.STRING, V: { kind: 'scalar', T: ScalarType.STRING } },
  { no: 8, name: 'raw_request', kind: 'scalar', T: ScalarType.BYTES },
]);

/** psrpc `internal.Response`: a server's answer, published on `<Service>|<clientId>|RES`. */
export interface PsrpcResponse extends Message<PsrpcResponse> {
  requestId: string;
  serverId: string;
  /** Unix nanoseconds. */
  sentAt: bigint;
  /** Legacy payload, neither set nor read by psrpc v0.7. */
  response?: Any;
  /** Error message; non-empty means the call failed. */
  error: string;
  /** psrpc error code string; empty means `unknown`. */
  code: string;
  rawResponse: Uint8Array;
  errorDetails: Any[];
}

export const PsrpcResponse = proto3.makeMessageType<PsrpcResponse>('internal.Response', () => [
  { no: 1, name: 'request_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 2, name: 'server_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 3, name: 'sent_at', kind: 'scalar', T: ScalarType.INT64 },
  { no: 4, name: 'response', kind: 'message', T: Any },
  { no: 5, name: 'error', kind: 'scalar', T: ScalarType.STRING },
  { no: 6, name: 'code', kind: 'scalar', T: ScalarType.STRING },
  { no: 7, name: 'raw_response', kind: 'scalar', T: ScalarType.BYTES },
  { no: 8, name: 'error_details', kind: 'message', T: Any, repeated: true },
]);

/** psrpc `internal.ClaimRequest`: a server's bid, published on `<Service>|<clientId>|CLAIM`. */
export interface ClaimRequest extends Message<ClaimRequest> {
  requestId: string;
  serverId: string;
  /** 32-bit float; the client only accepts bids above 0. */
  affinity: number;
}

export const ClaimRequest = proto3.makeMessageType<ClaimRequest>('internal.ClaimRequest', () => [
  { no: 1, name: 'request_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 2, name: 'server_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 3, name: 'affinity', kind: 'scalar', T: ScalarType.FLOAT },
]);

/** psrpc `internal.ClaimResponse`: the client's pick, published on `<Service>|<Method>[|topic]|RCLAIM`. */
export interface ClaimResponse extends Message<ClaimResponse> {
  requestId: string;
  serverId: string;
}

export const ClaimResponse = proto3.makeMessageType<ClaimResponse>('internal.ClaimResponse', () => [
  { no: 1, name: 'request_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 2, name: 'server_id', kind: 'scalar', T: ScalarType.STRING },
]);

/** The `request` oneof of `rpc.StartEgressRequest`: which kind of egress livekit-server asked for. */
export type RpcStartEgressRequestKind =
  | { case: 'egress'; value: StartEgressRequest }
  | { case: 'replay'; value: ExportReplayRequest }
  | { case: 'roomComposite'; value: RoomCompositeEgressRequest }
  | { case: 'web'; value: WebEgressRequest }
  | { case: 'participant'; value: ParticipantEgressRequest }
  | { case: 'trackComposite'; value: TrackCompositeEgressRequest }
  | { case: 'track'; value: TrackEgressRequest }
  | { case: undefined; value?: undefined };

/** `rpc.StartEgressRequest`: the payload of `EgressInternal.StartEgress`. */
export interface RpcStartEgressRequest extends Message<RpcStartEgressRequest> {
  egressId: string;
  request: RpcStartEgressRequestKind;
  roomId: string;
  roomName: string;
  /** Never set by livekit-server; the egress mints its own token. */
  token: string;
  /** Never set by livekit-server; the egress uses its configured ws_url. */
  wsUrl: string;
  cloudBackupEnabled: boolean;
  estimatedCpu: number;
  retryCount: number;
}

export const RpcStartEgressRequest = proto3.makeMessageType<RpcStartEgressRequest>('rpc.StartEgressRequest', () => [
  { no: 1, name: 'egress_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 16, name: 'egress', kind: 'message', T: StartEgressRequest, oneof: 'request' },
  { no: 17, name: 'replay', kind: 'message', T: ExportReplayRequest, oneof: 'request' },
  { no: 5, name: 'room_composite', kind: 'message', T: RoomCompositeEgressRequest, oneof: 'request' },
  { no: 11, name: 'web', kind: 'message', T: WebEgressRequest, oneof: 'request' },
  { no: 13, name: 'participant', kind: 'message', T: ParticipantEgressRequest, oneof: 'request' },
  { no: 6, name: 'track_composite', kind: 'message', T: TrackCompositeEgressRequest, oneof: 'request' },
  { no: 7, name: 'track', kind: 'message', T: TrackEgressRequest, oneof: 'request' },
  { no: 3, name: 'room_id', kind: 'scalar', T: ScalarType.STRING },
  { no: 18, name: 'room_name', kind: 'scalar', T: ScalarType.STRING },
  { no: 8, name: 'token', kind: 'scalar', T: ScalarType.STRING },
  { no: 9, name: 'ws_url', kind: 'scalar', T: ScalarType.STRING },
  { no: 10, name: 'cloud_backup_enabled', kind: 'scalar', T: ScalarType.BOOL },
  { no: 14, name: 'estimated_cpu', kind: 'scalar', T: ScalarType.DOUBLE },
  { no: 15, name: 'retry_count', kind: 'scalar', T: ScalarType.INT32 },
]);

/** `rpc.ListActiveEgressRequest`: the (empty) payload of `EgressInternal.ListActiveEgress`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the proto message has no fields
export interface ListActiveEgressRequest extends Message<ListActiveEgressRequest> {}

export const ListActiveEgressRequest = proto3.makeMessageType<ListActiveEgressRequest>(
  'rpc.ListActiveEgressRequest',
  () => [],
);

/** `rpc.ListActiveEgressResponse`: the egress ids one egress process is running. */
export interface ListActiveEgressResponse extends Message<ListActiveEgressResponse> {
  egressIds: string[];
}

export const ListActiveEgressResponse = proto3.makeMessageType<ListActiveEgressResponse>(
  'rpc.ListActiveEgressResponse',
  () => [{ no: 1, name: 'egress_ids', kind: 'scalar', T: ScalarType.STRING, repeated: true }],
);
