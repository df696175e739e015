import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childEnv, RECORDER_ROOT_ENV, recorderChildEnv } from './child-env.js';

const PARENT = {
  PATH: '/usr/bin',
  HOME: '/home/egress',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  PULSE_SERVER: 'unix:/run/pulse/native',
  [RECORDER_ROOT_ENV]: '/tmp/egress',
  EGRESS_STACK_TAG: 'stack-1',
  EGRESS_CONFIG_BODY: 'api_secret: s3cr3t',
  EGRESS_CONFIG_FILE: '/etc/egress.yaml',
  LIVEKIT_API_SECRET: 'lk-secret',
  REDIS_PASSWORD: 'redis-secret',
  EGRESS_GCS_ENDPOINT: 'http://127.0.0.1:4443',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  DISPLAY: ':0',
  XAUTHORITY: '/home/egress/.Xauthority',
};

describe('childEnv', () => {
  it('passes only the allowlist and the markers, never the config or other secrets', () => {
    assert.deepEqual(childEnv({}, PARENT), {
      PATH: '/usr/bin',
      HOME: '/home/egress',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      PULSE_SERVER: 'unix:/run/pulse/native',
      [RECORDER_ROOT_ENV]: '/tmp/egress',
      EGRESS_STACK_TAG: 'stack-1',
    });
  });

  it('adds what the child needs, leaving out undefined values', () => {
    const env = childEnv({ DISPLAY: ':7', XAUTHORITY: '/s/xauthority', PULSE_SINK: undefined }, PARENT);
    assert.equal(env['DISPLAY'], ':7');
    assert.equal(env['XAUTHORITY'], '/s/xauthority');
    assert.ok(!('PULSE_SINK' in env));
  });

  it('gives a recorder the storage settings it reads, and nothing more of the config', () => {
    const env = recorderChildEnv({ FAKE: '1' }, PARENT);
    assert.equal(env['EGRESS_GCS_ENDPOINT'], 'http://127.0.0.1:4443');
    assert.equal(env['AWS_SECRET_ACCESS_KEY'], 'aws-secret');
    assert.equal(env['FAKE'], '1');
    for (const name of [
      'EGRESS_CONFIG_BODY',
      'EGRESS_CONFIG_FILE',
      'LIVEKIT_API_SECRET',
      'REDIS_PASSWORD',
      'DISPLAY',
    ]) {
      assert.ok(!(name in env), name);
    }
  });
});
