import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from './logger.js';

test('json lines carry the context fields, ts and msg', async () => {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  const log = createLogger({ level: 'info', json: true, stream, fields: { nodeID: 'NE_1' } });
  log.child({ egressID: 'EG_1' }).info('hello', { extra: 2 });
  log.debug('hidden');
  await new Promise((r) => setImmediate(r));
  const lines = chunks.join('').trim().split('\n');
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.msg, 'hello');
  assert.equal(line.nodeID, 'NE_1');
  assert.equal(line.egressID, 'EG_1');
  assert.equal(line.extra, 2);
  assert.equal(typeof line.ts, 'string');
});
