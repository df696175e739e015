/**
 * The copy of an egress request that leaves this node (EgressInfo.request: CreateEgress, UpdateEgress, the
 * StartEgress reply, hence ListEgress and every webhook): every credential in it replaced, for every request kind
 * and output form. The walk goes over the protobuf schema, so a field is redacted wherever it nests; a string
 * field this table does not know is redacted too, so a new protocol field cannot leak unnoticed.
 */
import { ScalarType, type AnyMessage, type FieldInfo, type Message } from '@bufbuild/protobuf';
import type { EgressInfo } from '@livekit/protocol';
import { REDACTED } from '../config/redact.js';
import { redactQueryValues, redactUrlToken } from './http-url.js';
import { redactStreamUrl } from './stream-url.js';

/**
 * How a string field is shown: as is, replaced (`***`), a stream URL with its key redacted, a page or endpoint URL
 * with its token and user:password redacted, or a websocket URL with every query value redacted.
 */
export type FieldRule = 'plain' | 'secret' | 'stream_url' | 'url' | 'ws_url';

/** Every string field reachable from a request kind, by `<message type>.<proto field name>`. */
export const REQUEST_FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  // Credentials of the upload providers, proxies and webhooks.
  'livekit.S3Upload.access_key': 'secret',
  'livekit.S3Upload.secret': 'secret',
  'livekit.S3Upload.session_token': 'secret',
  'livekit.S3Upload.assume_role_external_id': 'secret',
  'livekit.GCPUpload.credentials': 'secret',
  'livekit.AzureBlobUpload.account_key': 'secret',
  'livekit.AliOSSUpload.access_key': 'secret',
  'livekit.AliOSSUpload.secret': 'secret',
  'livekit.ProxyConfig.username': 'secret',
  'livekit.ProxyConfig.password': 'secret',
  'livekit.WebhookConfig.signing_key': 'secret',
  // URLs: stream keys, page tokens, websocket query values, user:password in endpoints.
  'livekit.StreamOutput.urls': 'stream_url',
  'livekit.TrackEgressRequest.websocket_url': 'ws_url',
  'livekit.WebEgressRequest.url': 'url',
  'livekit.WebSource.url': 'url',
  'livekit.RoomCompositeEgressRequest.custom_base_url': 'url',
  'livekit.TemplateSource.custom_base_url': 'url',
  'livekit.WebhookConfig.url': 'url',
  'livekit.ProxyConfig.url': 'url',
  'livekit.S3Upload.endpoint': 'url',
  'livekit.AliOSSUpload.endpoint': 'url',
  // Names, paths and settings.
  'livekit.S3Upload.assume_role_arn': 'plain',
  'livekit.S3Upload.region': 'plain',
  'livekit.S3Upload.bucket': 'plain',
  'livekit.S3Upload.metadata': 'plain',
  'livekit.S3Upload.tagging': 'plain',
  'livekit.S3Upload.content_disposition': 'plain',
  'livekit.GCPUpload.bucket': 'plain',
  'livekit.AzureBlobUpload.account_name': 'plain',
  'livekit.AzureBlobUpload.container_name': 'plain',
  'livekit.AliOSSUpload.region': 'plain',
  'livekit.AliOSSUpload.bucket': 'plain',
  'livekit.EncodedFileOutput.filepath': 'plain',
  'livekit.DirectFileOutput.filepath': 'plain',
  'livekit.FileOutput.filepath': 'plain',
  'livekit.SegmentedFileOutput.filename_prefix': 'plain',
  'livekit.SegmentedFileOutput.playlist_name': 'plain',
  'livekit.SegmentedFileOutput.live_playlist_name': 'plain',
  'livekit.ImageOutput.filename_prefix': 'plain',
  'livekit.FilterParams.include_events': 'plain',
  'livekit.FilterParams.exclude_events': 'plain',
  'livekit.StartEgressRequest.room_name': 'plain',
  'livekit.TemplateSource.layout': 'plain',
  'livekit.MediaSource.video_track_id': 'plain',
  'livekit.ParticipantVideo.identity': 'plain',
  'livekit.AudioRoute.track_id': 'plain',
  'livekit.AudioRoute.participant_identity': 'plain',
  'livekit.ExportReplayRequest.replay_id': 'plain',
  'livekit.RoomCompositeEgressRequest.room_name': 'plain',
  'livekit.RoomCompositeEgressRequest.layout': 'plain',
  'livekit.ParticipantEgressRequest.room_name': 'plain',
  'livekit.ParticipantEgressRequest.identity': 'plain',
  'livekit.TrackCompositeEgressRequest.room_name': 'plain',
  'livekit.TrackCompositeEgressRequest.audio_track_id': 'plain',
  'livekit.TrackCompositeEgressRequest.video_track_id': 'plain',
  'livekit.TrackEgressRequest.room_name': 'plain',
  'livekit.TrackEgressRequest.track_id': 'plain',
};

function redactString(rule: FieldRule | undefined, value: string): string {
  if (value === '') return value;
  switch (rule) {
    case 'plain':
      return value;
    case 'stream_url':
      return redactStreamUrl(value);
    case 'url':
      return redactUrlToken(value);
    case 'ws_url':
      return redactQueryValues(value);
    default:
      return REDACTED;
  }
}

type Fields = Record<string, unknown>;

/** Where a field's value sits: on the message, or inside its oneof when that case is set. */
function slot(msg: Fields, f: FieldInfo): { holder: Fields; key: string } | undefined {
  if (!f.oneof) return { holder: msg, key: f.localName };
  const oneof = msg[f.oneof.localName] as Fields;
  return oneof['case'] === f.localName ? { holder: oneof, key: 'value' } : undefined;
}

function redactInPlace(msg: Message<AnyMessage>): void {
  const type = msg.getType();
  for (const f of type.fields.list()) {
    const at = slot(msg as unknown as Fields, f);
    if (!at) continue;
    const value = at.holder[at.key];
    const rule = REQUEST_FIELD_RULES[`${type.typeName}.${f.name}`];
    if (f.kind === 'message') {
      const inner = (f.repeated ? value : [value]) as (Message<AnyMessage> | undefined)[];
      inner.forEach((m) => m && redactInPlace(m));
    } else if (f.kind === 'map') {
      const entries = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(entries)) {
        if (f.V.kind === 'message') redactInPlace(v as Message<AnyMessage>);
        else if (typeof v === 'string') entries[k] = redactString(rule, v);
      }
    } else if (f.kind === 'scalar' && f.T === ScalarType.STRING) {
      at.holder[at.key] = f.repeated
        ? (value as string[]).map((s) => redactString(rule, s))
        : redactString(rule, value as string);
    } else if (f.kind === 'scalar' && f.T === ScalarType.BYTES && rule !== 'plain') {
      at.holder[at.key] = f.repeated ? [] : new Uint8Array();
    }
  }
}

/** A copy of any request message (v1 requests, StartEgressRequest, ...) with every credential replaced. */
export function redactRequest<T extends Message<T>>(request: T): T {
  const copy = request.clone();
  redactInPlace(copy as unknown as Message<AnyMessage>);
  return copy;
}

/** EgressInfo.request with its message redacted (a copy; the original is left as it was). */
export function redactEgressRequest(request: EgressInfo['request']): EgressInfo['request'] {
  if (!request.case) return request;
  return { case: request.case, value: redactRequest(request.value as Message<AnyMessage>) } as EgressInfo['request'];
}
