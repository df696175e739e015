import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScalarType, type AnyMessage, type FieldInfo, type Message, type MessageType } from '@bufbuild/protobuf';
import { EgressInfo, Room, UserPacket } from '@livekit/protocol';
import { REQUEST_FIELD_RULES, redactEgressRequest, redactRequest } from './redact-request.js';

/** What the brief names as credentials: each must be hidden whatever the rule table says. */
const MUST_HIDE = new Set([
  'livekit.S3Upload.access_key',
  'livekit.S3Upload.secret',
  'livekit.S3Upload.session_token',
  'livekit.S3Upload.assume_role_external_id',
  'livekit.GCPUpload.credentials',
  'livekit.AzureBlobUpload.account_key',
  'livekit.AliOSSUpload.access_key',
  'livekit.AliOSSUpload.secret',
  'livekit.ProxyConfig.username',
  'livekit.ProxyConfig.password',
  'livekit.StreamOutput.urls',
  'livekit.TrackEgressRequest.websocket_url',
  'livekit.WebEgressRequest.url',
  'livekit.WebSource.url',
  'livekit.RoomCompositeEgressRequest.custom_base_url',
  'livekit.TemplateSource.custom_base_url',
]);

const KINDS = EgressInfo.fields
  .list()
  .flatMap((f) => (f.oneof?.name === 'request' && f.kind === 'message' ? [{ localName: f.localName, T: f.T }] : []));

/** Every string or map field reachable from a message type, by `<type>.<field>`. */
function stringFields(type: MessageType, out = new Set<string>(), seen = new Set<string>()): Set<string> {
  if (seen.has(type.typeName)) return out;
  seen.add(type.typeName);
  for (const f of type.fields.list()) {
    if (f.kind === 'message') stringFields(f.T, out, seen);
    else if (f.kind === 'map' || (f.kind === 'scalar' && f.T === ScalarType.STRING))
      out.add(`${type.typeName}.${f.name}`);
  }
  return out;
}

let serial = 0;
/** A value for a field: a canary where a credential may hide, a marker that must survive elsewhere. */
function valueFor(key: string, plain: string[]): string {
  const n = ++serial;
  const rule = REQUEST_FIELD_RULES[key];
  const hide = MUST_HIDE.has(key) || rule !== 'plain';
  const canary = `CANARY-${key}-${n}`;
  if (rule === 'stream_url') return `rtmp://127.0.0.1/live/${canary}`;
  if (rule === 'ws_url') return `ws://127.0.0.1:9/sink?auth=${canary}&t=${canary}`;
  if (rule === 'url') {
    const keep = `PLAIN-q${n}`;
    plain.push(keep);
    return `https://127.0.0.1/page?keep=${keep}&token=${canary}&access_token=${canary}`;
  }
  if (hide) return canary;
  const value = `PLAIN-${key}-${n}`;
  plain.push(value);
  return value;
}

/** The number of cases of a message's largest oneof (1 without one). */
function choices(type: MessageType): number {
  const sizes = new Map<string, number>();
  for (const f of type.fields.list()) if (f.oneof) sizes.set(f.oneof.name, (sizes.get(f.oneof.name) ?? 0) + 1);
  return Math.max(1, ...sizes.values());
}

/**
 * A message with every string field set; in each oneof the case `choice` picks, and a repeated message field
 * holds one element per case, so the list forms carry every provider.
 */
function fill(type: MessageType, choice: number, plain: string[], depth = 0): Message<AnyMessage> {
  const msg = new type() as unknown as Record<string, unknown>;
  const picked = new Map<string, FieldInfo>();
  for (const f of type.fields.list()) {
    if (!f.oneof) continue;
    const cases = f.oneof.fields;
    if (!picked.has(f.oneof.name)) picked.set(f.oneof.name, cases[choice % cases.length]!);
  }
  for (const f of type.fields.list()) {
    if (f.oneof && picked.get(f.oneof.name) !== f) continue;
    const key = `${type.typeName}.${f.name}`;
    let value: unknown;
    if (f.kind === 'message') {
      if (depth > 6) continue;
      value = f.repeated
        ? Array.from({ length: choices(f.T) }, (_, i) => fill(f.T, i, plain, depth + 1))
        : fill(f.T, choice, plain, depth + 1);
    } else if (f.kind === 'map') {
      value = { k: valueFor(key, plain) };
    } else if (f.kind === 'scalar' && f.T === ScalarType.STRING) {
      value = f.repeated ? [valueFor(key, plain), valueFor(key, plain)] : valueFor(key, plain);
    } else continue;
    if (f.oneof) msg[f.oneof.localName] = { case: f.localName, value };
    else msg[f.localName] = value;
  }
  return msg as unknown as Message<AnyMessage>;
}

test('every string field of every request kind has a rule, and each credential the brief names is hidden', () => {
  const known = new Set(Object.keys(REQUEST_FIELD_RULES));
  for (const kind of KINDS) {
    for (const key of stringFields(kind.T)) assert.ok(known.has(key), `${key} (in ${kind.localName}) has no rule`);
  }
  for (const key of MUST_HIDE) assert.notEqual(REQUEST_FIELD_RULES[key], 'plain', key);
});

for (const kind of KINDS) {
  test(`${kind.localName}: no credential survives in the redacted copy, in JSON or binary; names and paths do`, () => {
    const type = kind.T;
    for (let choice = 0; choice < 12; choice++) {
      const plain: string[] = [];
      const request = fill(type, choice, plain);
      const before = request.toJsonString();
      assert.match(before, /CANARY-/, 'the request carries canaries');
      const redacted = redactEgressRequest({ case: kind.localName, value: request } as EgressInfo['request']);
      const info = new EgressInfo({ egressId: 'EG_x', request: redacted });
      const json = info.toJsonString();
      const binary = Buffer.from(info.toBinary()).toString('latin1');
      assert.doesNotMatch(json, /CANARY/, `choice ${choice}: ${/CANARY-[^"&]*/.exec(json)?.[0]}`);
      assert.doesNotMatch(binary, /CANARY/);
      for (const p of plain) assert.ok(json.includes(p), `choice ${choice}: ${p} survives`);
      assert.equal(request.toJsonString(), before, 'the original request is left as it was');
    }
  });
}

test('bucket, region and file paths survive; secrets become *** and stream keys keep their shape', () => {
  const redacted = new EgressInfo({
    request: redactEgressRequest(
      EgressInfo.fromJson({
        web: {
          url: 'https://app.test/rec?room=r&token=T-SECRET',
          fileOutputs: [
            {
              filepath: 'rec/{room_name}.mp4',
              s3: { accessKey: 'AK-SECRET', secret: 'SK-SECRET', region: 'eu-west-1', bucket: 'media' },
            },
          ],
          streamOutputs: [{ urls: ['rtmp://live.test/app/STREAMKEY'] }],
        },
      }).request,
    ),
  }).toJson() as { web: Record<string, unknown> };
  assert.deepEqual(redacted.web, {
    url: 'https://app.test/rec?room=r&token=redacted',
    fileOutputs: [
      {
        filepath: 'rec/{room_name}.mp4',
        s3: { accessKey: '***', secret: '***', region: 'eu-west-1', bucket: 'media' },
      },
    ],
    streamOutputs: [{ urls: ['rtmp://live.test/app/{ST...EY}'] }],
  });
});

test('a field the table does not know is redacted: a new protocol field cannot leak', () => {
  assert.equal(redactRequest(new Room({ name: 'SECRET-NAME' })).name, '***');
  assert.equal(redactRequest(new UserPacket({ payload: new Uint8Array([1, 2]) })).payload.length, 0);
});
