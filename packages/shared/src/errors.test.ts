import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capErrorText, describeError, EgressError, errorMessage, errors, MAX_ERROR_TEXT_BYTES } from './errors.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

test('error text up to 4 KiB is kept as is; longer text is cut to 4 KiB with a marker of the bytes cut', () => {
  const exact = 'e'.repeat(MAX_ERROR_TEXT_BYTES);
  assert.equal(capErrorText(exact), exact);
  const huge = 'x'.repeat(40 * 1024 * 1024);
  const capped = capErrorText(huge);
  assert.ok(bytes(capped) <= MAX_ERROR_TEXT_BYTES, `${bytes(capped)} bytes`);
  const m = /^(x+)… \[cut: (\d+) bytes\]$/.exec(capped);
  assert.ok(m, capped.slice(-40));
  assert.equal(m[1]!.length + Number(m[2]), huge.length, 'the marker counts exactly what was cut');
  assert.ok(bytes(capped) > MAX_ERROR_TEXT_BYTES - 40, 'nearly all of the 4 KiB is used');
});

test('multi-byte text is cut on a character boundary', () => {
  for (const unit of ['é', '€', '😀', 'a😀']) {
    const text = unit.repeat(5000);
    const capped = capErrorText(text);
    assert.ok(bytes(capped) <= MAX_ERROR_TEXT_BYTES, `${unit}: ${bytes(capped)} bytes`);
    assert.ok(!capped.includes('\uFFFD'), `${unit}: no broken character`);
    const kept = capped.slice(0, capped.indexOf('… [cut:'));
    assert.ok(text.startsWith(kept), `${unit}: the kept part is the start of the text`);
    const cut = Number(/\[cut: (\d+) bytes\]$/.exec(capped)![1]);
    assert.equal(bytes(kept) + cut, bytes(text));
  }
});

test('errors.from keeps what was thrown as cause, with its stack; an EgressError passes through as is', () => {
  const original = new TypeError('socket hang up');
  const wrapped = errors.from(original, 'unavailable');
  assert.equal(wrapped.code, 'unavailable');
  assert.equal(wrapped.message, 'socket hang up');
  assert.equal(wrapped.cause, original);
  assert.match((wrapped.cause as Error).stack ?? '', /TypeError: socket hang up/);
  assert.equal(errors.from('plain text').cause, 'plain text');
  const own = new EgressError('not_found', 'egress EG_1 not found', { cause: original });
  assert.equal(errors.from(own), own);
  assert.equal(own.cause, original);
  assert.deepEqual(own.toJSON(), { code: 'not_found', message: 'egress EG_1 not found' }, 'cause stays on this side');
});

test('describeError gives an SDK error on one line with its code and HTTP status; errorMessage just the message', () => {
  const sdk = Object.assign(new Error('The specified bucket does not exist\nmore'), {
    name: 'NoSuchBucket',
    $metadata: { httpStatusCode: 404 },
  });
  assert.equal(describeError(sdk), 'NoSuchBucket, HTTP 404: The specified bucket does not exist');
  assert.equal(describeError(new Error('plain')), 'plain');
  assert.equal(describeError(42), '42');
  assert.equal(errorMessage(sdk), 'The specified bucket does not exist\nmore');
  assert.equal(errorMessage(undefined), 'undefined');
});
