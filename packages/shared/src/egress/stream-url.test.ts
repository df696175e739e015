import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EgressError } from '../errors.js';
import {
  assertStreamUrlCount,
  normalizeStreamUrl,
  redactSecret,
  redactStreamUrl,
  streamProtocolOf,
} from './stream-url.js';

test('redacts like upstream: first and last two characters kept', () => {
  assert.equal(redactSecret('stream'), '{st...am}');
  assert.equal(redactSecret('abcd'), '{...}');
  assert.equal(redactStreamUrl('rtmp://127.0.0.1:1935/live/stream'), 'rtmp://127.0.0.1:1935/live/{st...am}');
  assert.equal(redactStreamUrl('rtmps://a.b/app/sk_live_12345 live=1'), 'rtmps://a.b/app/{sk...45} live=1');
  assert.equal(redactStreamUrl('rtmp://h/app/key123?x=1'), 'rtmp://h/app/{ke...23}?x=1');
  assert.equal(
    redactStreamUrl('srt://127.0.0.1:9000?streamid=publish:room&passphrase=secretsecret&latency=120'),
    'srt://127.0.0.1:9000?streamid={pu...om}&passphrase={se...et}&latency=120',
  );
  assert.equal(redactStreamUrl('mux://abcdefgh'), 'mux://{ab...gh}');
});

test('picks the protocol from the scheme', () => {
  assert.equal(streamProtocolOf('RTMP://h/a/k'), 'rtmp');
  assert.equal(streamProtocolOf('rtmps://h/a/k'), 'rtmp');
  assert.equal(streamProtocolOf('srt://h:1'), 'srt');
  assert.equal(streamProtocolOf('ws://h'), undefined);
});

test('validates and expands URLs, naming the field and redacting the value', () => {
  assert.equal(normalizeStreamUrl('mux://key1', 'rtmp', 'f'), 'rtmps://global-live.mux.com:443/app/key1');
  assert.equal(normalizeStreamUrl('rtmp://h:1935/live/k', 'rtmp', 'f'), 'rtmp://h:1935/live/k');
  assert.equal(normalizeStreamUrl('srt://h:9000?streamid=x', 'srt', 'f'), 'srt://h:9000?streamid=x');
  const bad = (url: string, protocol: 'rtmp' | 'srt', pattern: RegExp) =>
    assert.throws(
      () => normalizeStreamUrl(url, protocol, 'stream.urls[1]'),
      (e: unknown) =>
        e instanceof EgressError &&
        e.code === 'invalid_argument' &&
        /stream\.urls\[1\]/.test(e.message) &&
        pattern.test(e.message),
    );
  bad('http://h/live/k', 'rtmp', /rtmp:\/\//);
  bad('rtmp://h/onlyapp', 'rtmp', /application and a stream key/);
  bad('srt://h', 'srt', /needs a port/);
  bad('srt://h:9000', 'rtmp', /is SRT/);
  bad('rtmp://h/live/secretkey x', 'rtmp', /whitespace/);
  // The secret never appears in the error.
  assert.throws(
    () => normalizeStreamUrl('rtmp://h/topsecretkey', 'rtmp', 'f'),
    (e: unknown) => e instanceof Error && !e.message.includes('topsecretkey') && e.message.includes('{to...ey}'),
  );
});

test('a URL over 2048 characters is refused naming the field and its length, not its text', () => {
  const base = 'rtmp://127.0.0.1:1935/live/';
  const ok = `${base}${'k'.repeat(2048 - base.length)}`;
  assert.equal(normalizeStreamUrl(ok, 'rtmp', 'f'), ok);
  assert.throws(
    () => normalizeStreamUrl(`${ok}k`, 'rtmp', 'web.stream_outputs[0].urls[1]'),
    (e: unknown) =>
      e instanceof EgressError &&
      e.code === 'invalid_argument' &&
      e.message === 'web.stream_outputs[0].urls[1]: is longer than 2048 characters (got "2049 characters")',
  );
});

test('more stream URLs than the cap is invalid_argument naming the field', () => {
  assertStreamUrlCount(8, 8, 'f');
  assert.throws(
    () => assertStreamUrlCount(9, 8, 'web.stream_outputs[0].urls'),
    (e: unknown) =>
      e instanceof EgressError &&
      e.code === 'invalid_argument' &&
      e.message === 'web.stream_outputs[0].urls: at most 8 per egress (max_stream_urls) (got "9 URLs")',
  );
});
