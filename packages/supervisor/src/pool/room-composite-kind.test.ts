import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomCompositeEgressRequest, StartEgressRequest, TemplateSource, WebEgressRequest } from '@livekit/protocol';
import { RpcStartEgressRequest } from '@egress/shared/psrpc/index';
import { roomCompositeKind } from './room-composite-kind.js';

const composite = (rc: Partial<RoomCompositeEgressRequest>) =>
  new RpcStartEgressRequest({ request: { case: 'roomComposite', value: new RoomCompositeEgressRequest(rc) } });
const template = (t: Partial<TemplateSource>) =>
  new RpcStartEgressRequest({
    request: {
      case: 'egress',
      value: new StartEgressRequest({ source: { case: 'template', value: new TemplateSource(t) } }),
    },
  });

test('room composites are priced as upstream: room_composite, audio_room_composite, or the SDK kind', () => {
  assert.equal(roomCompositeKind(composite({ layout: 'grid' })), 'room_composite');
  assert.equal(roomCompositeKind(composite({ layout: 'grid', videoOnly: true })), 'room_composite');
  assert.equal(roomCompositeKind(composite({ layout: 'grid', audioOnly: true })), 'audio_room_composite');
  assert.equal(roomCompositeKind(composite({ customBaseUrl: 'https://x/', audioOnly: true })), 'audio_room_composite');
  assert.equal(roomCompositeKind(composite({ audioOnly: true })), 'sdk_audio_room_composite');
  assert.equal(roomCompositeKind(template({ layout: 'speaker' })), 'room_composite');
  assert.equal(roomCompositeKind(template({ audioOnly: true, layout: 'grid' })), 'audio_room_composite');
  assert.equal(roomCompositeKind(template({ audioOnly: true })), 'sdk_audio_room_composite');
});

test('other requests are not room composites', () => {
  assert.equal(
    roomCompositeKind(new RpcStartEgressRequest({ request: { case: 'web', value: new WebEgressRequest() } })),
    undefined,
  );
  assert.equal(roomCompositeKind(new RpcStartEgressRequest({})), undefined);
});
