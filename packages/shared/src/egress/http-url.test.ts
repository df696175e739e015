import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressError } from '../errors.js';
import { assertHttpUrl, redactTokenParams, redactUrlToken } from './http-url.js';

test('only http(s) URLs pass, naming the field', () => {
  assertHttpUrl('https://example.test/x', 'web.url');
  for (const bad of ['file:///etc/passwd', 'chrome://settings', 'not a url']) {
    assert.throws(
      () => assertHttpUrl(bad, 'web.url'),
      (e: unknown) => e instanceof EgressError && e.code === 'invalid_argument' && e.message.startsWith('web.url:'),
    );
  }
});

test('a token query value is redacted, everything else kept', () => {
  assert.equal(
    redactUrlToken('http://127.0.0.1:7980/?layout=grid&url=ws%3A%2F%2Fh&token=eyJsecret'),
    'http://127.0.0.1:7980/?layout=grid&url=ws%3A%2F%2Fh&token=redacted',
  );
  assert.equal(redactUrlToken('https://example.test/page?x=1'), 'https://example.test/page?x=1');
  assert.equal(redactUrlToken('not a url'), 'not a url');
});

test('token and access_token query values are redacted anywhere in a line, raw or percent-encoded', () => {
  assert.equal(
    redactTokenParams(
      "WebSocket connection to 'ws://127.0.0.1:7880/rtc?access_token=eyJa.b.c&auto_subscribe=1' failed",
    ),
    "WebSocket connection to 'ws://127.0.0.1:7880/rtc?access_token=redacted&auto_subscribe=1' failed",
  );
  assert.equal(
    redactTokenParams('GET http://127.0.0.1:7980/?url=ws%3A%2F%2Fh%3Faccess_token%3DeyJx&token=eyJy net::ERR_FAILED'),
    'GET http://127.0.0.1:7980/?url=ws%3A%2F%2Fh%3Faccess_token%3Dredacted&token=redacted net::ERR_FAILED',
  );
  assert.equal(redactTokenParams('my_token=keep ?tokens=keep'), 'my_token=keep ?tokens=keep');
});

test('access_token, a token in any letter case, user:password and a token in an unparseable URL are redacted', () => {
  assert.equal(
    redactUrlToken('https://app.test/rec?access_token=AT-SECRET&Token=T-SECRET&room=r'),
    'https://app.test/rec?access_token=redacted&Token=redacted&room=r',
  );
  assert.equal(redactUrlToken('https://u:P-SECRET@s3.test/b'), 'https://redacted:redacted@s3.test/b');
  assert.equal(redactUrlToken('::bad?x=1&token=T-SECRET'), '::bad?x=1&token=redacted');
});

test('a refused page URL is shown without its token', () => {
  assert.throws(
    () => assertHttpUrl('file:///x?token=T-SECRET', 'web.url'),
    (e: unknown) => e instanceof EgressError && !e.message.includes('T-SECRET'),
  );
});
