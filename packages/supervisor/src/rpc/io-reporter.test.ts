import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressInfo, EgressStatus } from '@livekit/protocol';
import { createLogger, EgressError } from '@egress/shared';
import { IoReporter, type IoCall } from './io-reporter.js';
import { sleep } from '@egress/shared/testing/wait';

const log = createLogger({ level: 'error', json: true });
const info = (status: EgressStatus) => new EgressInfo({ egressId: 'EG_1', status });

test('updates land in order behind CreateEgress, each retried until the server answers', async () => {
  const seen: string[] = [];
  let failuresLeft = 2;
  const call: IoCall = async (method, i) => {
    if (method === 'CreateEgress') await sleep(50);
    if (method === 'UpdateEgress' && i.status === EgressStatus.EGRESS_ACTIVE && failuresLeft-- > 0) {
      throw new EgressError('deadline_exceeded', 'request timed out');
    }
    seen.push(`${method}:${EgressStatus[i.status]}`);
  };
  const io = new IoReporter({ call, log, backoffMs: 10 });
  const start = info(EgressStatus.EGRESS_STARTING);
  void io.create(start);
  start.status = EgressStatus.EGRESS_ACTIVE; // the caller mutates its copy; the report must not change
  const a = io.update(info(EgressStatus.EGRESS_ACTIVE));
  const b = io.update(info(EgressStatus.EGRESS_ENDING));
  const c = io.update(info(EgressStatus.EGRESS_COMPLETE));
  await Promise.all([a, b, c]);
  assert.deepEqual(seen, [
    'CreateEgress:EGRESS_STARTING',
    'UpdateEgress:EGRESS_ACTIVE',
    'UpdateEgress:EGRESS_ENDING',
    'UpdateEgress:EGRESS_COMPLETE',
  ]);
});

test('an answer that is an error is not retried, and later updates still go out', async () => {
  const seen: string[] = [];
  const call: IoCall = async (_m, i) => {
    seen.push(EgressStatus[i.status]);
    if (i.status === EgressStatus.EGRESS_ACTIVE) throw new EgressError('invalid_argument', 'nope');
  };
  const io = new IoReporter({ call, log, backoffMs: 10 });
  await assert.rejects(io.update(info(EgressStatus.EGRESS_ACTIVE)), /nope/);
  await io.update(info(EgressStatus.EGRESS_COMPLETE));
  assert.deepEqual(seen, ['EGRESS_ACTIVE', 'EGRESS_COMPLETE']);
});
