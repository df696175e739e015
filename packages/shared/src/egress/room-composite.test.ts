import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenVerifier } from 'livekit-server-sdk';
import { recorderToken, roomCompositeSource, templatePageUrl, type RoomCompositeContext } from './room-composite.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const ctx: RoomCompositeContext = {
  egressId: 'EG_abc123',
  roomName: 'my-room',
  apiKey: 'devkey',
  apiSecret: SECRET,
  wsUrl: 'ws://127.0.0.1:7880',
  templateBase: 'http://127.0.0.1:7980/',
};
const req = { layout: 'speaker-light', audioOnly: false, videoOnly: false, customBaseUrl: '' };

describe('room composite source', () => {
  it('mints the recorder token as upstream: hidden recorder, join + subscribe only, 24 h, identity = egress id', async () => {
    const claims = await new TokenVerifier('devkey', SECRET).verify(await recorderToken(ctx));
    assert.equal(claims.sub, 'EG_abc123');
    assert.equal(claims.kind, 'egress');
    assert.deepEqual(claims.video, {
      room: 'my-room',
      roomJoin: true,
      canSubscribe: true,
      canPublish: false,
      canPublishData: false,
      hidden: true,
      recorder: true,
    });
    assert.equal((claims.exp ?? 0) - (claims.nbf ?? 0), 24 * 3600);
    await assert.rejects(new TokenVerifier('devkey', `${SECRET}x`).verify(await recorderToken(ctx)));
  });

  it('loads the template page from template_base with url, token and layout', async () => {
    const source = await roomCompositeSource(req, ctx);
    assert.equal(source.kind, 'template');
    assert.ok(source.kind === 'template');
    assert.deepEqual([source.audioOnly, source.videoOnly, source.awaitStartSignal], [false, false, true]);
    const url = new URL(source.url);
    assert.equal(`${url.origin}${url.pathname}`, 'http://127.0.0.1:7980/');
    assert.equal(url.searchParams.get('layout'), 'speaker-light');
    assert.equal(url.searchParams.get('url'), 'ws://127.0.0.1:7880');
    const claims = await new TokenVerifier('devkey', SECRET).verify(url.searchParams.get('token') ?? '');
    assert.equal(claims.sub, 'EG_abc123');
  });

  it('honours custom_base_url, keeping its own path and query', async () => {
    const source = await roomCompositeSource(
      { ...req, customBaseUrl: 'https://pages.example.com/rec/index.html?theme=x' },
      ctx,
    );
    assert.ok(source.kind === 'template');
    const url = new URL(source.url);
    assert.equal(url.pathname, '/rec/index.html');
    assert.equal(url.searchParams.get('theme'), 'x');
    assert.equal(url.searchParams.get('layout'), 'speaker-light');
  });

  it('uses the token the server sent instead of minting one', async () => {
    const source = await roomCompositeSource(req, { ...ctx, token: 'server-token' });
    assert.ok(source.kind === 'template');
    assert.equal(new URL(source.url).searchParams.get('token'), 'server-token');
  });

  it('records audio only without a browser when there is no layout and no custom page (upstream SDK path)', async () => {
    const sdk = await roomCompositeSource({ ...req, layout: '', audioOnly: true }, ctx);
    assert.equal(sdk.kind, 'sdk-audio');
    assert.ok(sdk.kind === 'sdk-audio');
    assert.equal(sdk.wsUrl, 'ws://127.0.0.1:7880');
    assert.equal(sdk.mixing, 'default', 'no audio_mixing is DEFAULT_MIXING');
    assert.equal((await new TokenVerifier('devkey', SECRET).verify(sdk.token)).sub, 'EG_abc123');
    // A layout or a custom page keeps the browser.
    assert.equal((await roomCompositeSource({ ...req, audioOnly: true }, ctx)).kind, 'template');
    const custom = { ...req, layout: '', audioOnly: true, customBaseUrl: 'http://127.0.0.1:1/' };
    assert.equal((await roomCompositeSource(custom, ctx)).kind, 'template');
  });

  it('rejects bad requests naming the field', async () => {
    await assert.rejects(roomCompositeSource({ ...req, audioOnly: true, videoOnly: true }, ctx), {
      code: 'invalid_argument',
      message: /^room_composite\.audio_only: /,
    });
    await assert.rejects(roomCompositeSource({ ...req, customBaseUrl: 'file:///etc/passwd' }, ctx, 'egress.template'), {
      code: 'invalid_argument',
      message: /^egress\.template\.custom_base_url: must be an http\(s\) URL/,
    });
    await assert.rejects(roomCompositeSource(req, { ...ctx, roomName: '' }), {
      message: /^room_composite\.room_name: is required/,
    });
    await assert.rejects(roomCompositeSource(req, { ...ctx, wsUrl: 'http://x' }), { message: /^ws_url: / });
    await assert.rejects(roomCompositeSource(req, { ...ctx, templateBase: 'nope' }), { message: /^template_base: / });
  });

  it('templatePageUrl encodes every value', () => {
    const url = templatePageUrl('http://h/', { wsUrl: 'ws://a?b=c&d', token: 't+/=', layout: 'grid dark' });
    const q = new URL(url).searchParams;
    assert.deepEqual([q.get('url'), q.get('token'), q.get('layout')], ['ws://a?b=c&d', 't+/=', 'grid dark']);
  });
});
