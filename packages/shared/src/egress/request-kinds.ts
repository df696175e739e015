/**
 * The one table of request kinds: for each case of rpc.StartEgressRequest's `request` oneof, the field its
 * errors name, where its outputs are, its room, its cost kind, which planner records it and its CLI name.
 * The planners, the supervisor, the metrics and the CLI all read it; a new case fails to compile until added.
 */
import type { StartEgressRequest } from '@livekit/protocol';
import type { RpcStartEgressRequestKind } from '../psrpc/messages.js';
import { listOutputs, unifiedOutputs, type RequestOutput } from './outputs-plan.js';
import { recordsAudioOnSdk, type RoomCompositeFields } from './room-composite.js';

/** Every request kind the cost table prices (upstream `costsForRequest`). */
export const REQUEST_KINDS = [
  'room_composite',
  'audio_room_composite',
  'sdk_audio_room_composite',
  'web',
  'audio_web',
  'participant',
  'track_composite',
  'track',
] as const;

export type RequestKind = (typeof REQUEST_KINDS)[number];

/** What a request records: a web page, a room composite template (Chrome, or the SDK for audio only), the SDK. */
export type SourceKind = 'web' | 'template' | 'sdk';

export type RequestCase = NonNullable<RpcStartEgressRequestKind['case']>;
type ValueOf<C extends RequestCase> = Extract<RpcStartEgressRequestKind, { case: C }>['value'];

/** Field names of a request's first output of each kind (`web.file_outputs[0]`, `egress.outputs[2].file`). */
export type OutputFields = Partial<Record<RequestOutput['kind'], string>>;

export interface RequestType<V> {
  /** The oneof's protobuf field: the prefix of every field its errors name (`room_composite.layout`). */
  field: string;
  /** The metrics' `type` label (today the oneof case, as before; upstream's names are another change). */
  metricsType: string;
  /** How `egress list` and `egress status` show it. */
  display: string;
  /** Its `egress start --type`; absent: the CLI cannot start it. */
  cliType?: string;
  /** Which planner records it; undefined: not supported here. */
  source(v: V): SourceKind | undefined;
  /** Its capacity cost kind. */
  cost(v: V): RequestKind;
  /** The request's own room_name ('' when it has none; the rpc request's then applies). */
  roomName(v: V): string;
  /** Where its outputs are, for errors. */
  outputFields(v: V): OutputFields;
}

/** Upstream prices a template by what it runs: a whole room in Chrome, audio only in Chrome, or the SDK. */
function compositeCost(f: RoomCompositeFields): RequestKind {
  if (!f.audioOnly) return 'room_composite';
  return recordsAudioOnSdk(f) ? 'sdk_audio_room_composite' : 'audio_room_composite';
}

function firstOfEach(outputs: RequestOutput[]): OutputFields {
  const fields: OutputFields = {};
  for (const o of outputs) fields[o.kind] ??= o.at;
  return fields;
}

type SourceCase = NonNullable<StartEgressRequest['source']['case']>;
type SourceOf<C extends SourceCase> = Extract<StartEgressRequest['source'], { case: C }>['value'];

/** The unified StartEgressRequest's sources. */
const UNIFIED_SOURCES = {
  web: { source: 'web', cost: (w) => (w.audioOnly ? 'audio_web' : 'web') },
  template: { source: 'template', cost: compositeCost },
  // Upstream prices a transcoded MediaSource as a participant egress.
  media: { source: 'sdk', cost: () => 'participant' },
} as const satisfies { [C in SourceCase]: { source: SourceKind; cost(v: SourceOf<C>): RequestKind } };

function unifiedSource(eg: StartEgressRequest): { source: SourceKind; cost(v: unknown): RequestKind } | undefined {
  return eg.source.case
    ? (UNIFIED_SOURCES[eg.source.case] as { source: SourceKind; cost(v: unknown): RequestKind })
    : undefined;
}

export const REQUEST_TYPES = {
  web: {
    field: 'web',
    metricsType: 'web',
    display: 'web',
    cliType: 'web',
    source: () => 'web',
    cost: (v) => (v.audioOnly ? 'audio_web' : 'web'),
    roomName: () => '',
    outputFields: (v) => firstOfEach(listOutputs(v, 'web')),
  },
  roomComposite: {
    field: 'room_composite',
    metricsType: 'roomComposite',
    display: 'room-composite',
    cliType: 'room-composite',
    source: () => 'template',
    cost: compositeCost,
    roomName: (v) => v.roomName,
    outputFields: (v) => firstOfEach(listOutputs(v, 'room_composite')),
  },
  participant: {
    field: 'participant',
    metricsType: 'participant',
    display: 'participant',
    cliType: 'participant',
    source: () => 'sdk',
    cost: () => 'participant',
    roomName: (v) => v.roomName,
    outputFields: (v) => firstOfEach(listOutputs(v, 'participant')),
  },
  trackComposite: {
    field: 'track_composite',
    metricsType: 'trackComposite',
    display: 'track-composite',
    cliType: 'track-composite',
    source: () => 'sdk',
    cost: () => 'track_composite',
    roomName: (v) => v.roomName,
    outputFields: (v) => firstOfEach(listOutputs(v, 'track_composite')),
  },
  track: {
    field: 'track',
    metricsType: 'track',
    display: 'track',
    cliType: 'track',
    source: () => 'sdk',
    cost: () => 'track',
    roomName: (v) => v.roomName,
    outputFields: (v) => (v.output.case === 'file' ? { file: 'track.file' } : {}),
  },
  egress: {
    field: 'egress',
    metricsType: 'egress',
    display: 'egress',
    cliType: 'start',
    source: (v) => unifiedSource(v)?.source,
    // Without a source the planner refuses it; until then it is priced as a web egress.
    cost: (v) => unifiedSource(v)?.cost(v.source.value) ?? 'web',
    roomName: (v) => v.roomName,
    outputFields: (v) => firstOfEach(unifiedOutputs(v)),
  },
  replay: {
    field: 'replay',
    metricsType: 'replay',
    display: 'replay',
    source: () => undefined,
    cost: () => 'web',
    roomName: () => '',
    outputFields: () => ({}),
  },
} as const satisfies { [C in RequestCase]: RequestType<ValueOf<C>> };

/** A request oneof as the planners see it (livekit-server's, or a test's). */
export interface RequestOneof {
  case: string | undefined;
  value?: unknown;
}

/** The table's entry for a request, or undefined when no or an unknown case is set. */
export function requestType(r: RequestOneof): RequestType<unknown> | undefined {
  if (r.case === undefined || !Object.hasOwn(REQUEST_TYPES, r.case)) return undefined;
  return REQUEST_TYPES[r.case as RequestCase] as RequestType<unknown>;
}

/** The request's protobuf field (`room_composite`), `request` when none is set. */
export function requestField(r: RequestOneof): string {
  return requestType(r)?.field ?? r.case ?? 'request';
}

/** Which planner records the request; undefined when none does. */
export function requestSource(r: RequestOneof): SourceKind | undefined {
  return requestType(r)?.source(r.value);
}

/** The request's capacity cost kind (an unknown request is priced as a web egress). */
export function requestCost(r: RequestOneof): RequestKind {
  return requestType(r)?.cost(r.value) ?? 'web';
}

/** The room a request records: its own room_name, else `fallback` (the rpc request's). */
export function requestRoomName(r: RequestOneof, fallback: string): string {
  return requestType(r)?.roomName(r.value) || fallback;
}

/** The field of the request's first output of `kind` (`egress.outputs[1].file`), for errors. */
export function outputField(r: RequestOneof, kind: RequestOutput['kind']): string | undefined {
  return requestType(r)?.outputFields(r.value)[kind];
}

/** The metrics' `type` label of a request. */
export function metricsType(r: RequestOneof): string {
  return requestType(r)?.metricsType ?? r.case ?? 'unknown';
}

/** A request case (`roomComposite`) as the CLI shows it (`room-composite`). */
export function displayName(requestCase: string | undefined): string {
  if (requestCase === undefined) return 'unknown';
  return requestType({ case: requestCase })?.display ?? requestCase;
}
