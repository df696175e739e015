import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claimRequestChannel,
  claimResponseChannel,
  formatChannel,
  requestChannel,
  responseChannel,
} from './channels.js';

describe('channels', () => {
  it('skips an empty topic', () => {
    assert.equal(requestChannel('EgressInternal', 'StartEgress', ''), 'EgressInternal|StartEgress|REQ');
    assert.equal(requestChannel('EgressInternal', 'StartEgress', ['']), 'EgressInternal|StartEgress|REQ');
    assert.equal(requestChannel('EgressInternal', 'StartEgress', []), 'EgressInternal|StartEgress|REQ');
    assert.equal(claimResponseChannel('EgressInternal', 'StartEgress'), 'EgressInternal|StartEgress|RCLAIM');
    assert.equal(requestChannel('IOInfo', 'CreateEgress'), 'IOInfo|CreateEgress|REQ');
  });

  it('escapes characters outside [0-9A-Za-z_]', () => {
    assert.equal(requestChannel('EgressHandler', 'StopEgress', 'EG_ab-c'), 'EgressHandler|StopEgress|EG_abu+002dc|REQ');
    assert.equal(
      claimResponseChannel('EgressHandler', 'StopEgress', ['EG_abc']),
      'EgressHandler|StopEgress|EG_abc|RCLAIM',
    );
    assert.equal(formatChannel('a.b c|d'), 'au+002ebu+0020cu+007cd');
    assert.equal(formatChannel('é'), 'u+00e9');
    assert.equal(formatChannel('€'), 'u+20ac');
  });

  it('escapes characters above the BMP with U+%08x', () => {
    assert.equal(formatChannel('x😀y'), 'xU+0001f600y');
  });

  it('joins multi-part topics like psrpc', () => {
    assert.equal(requestChannel('S', 'M', ['a', 'b']), 'S|M|a|b|REQ');
    assert.equal(requestChannel('S', 'M', ['', 'b']), 'S|M|b|REQ');
    // psrpc's own quirk for a trailing empty part inside a topic.
    assert.equal(requestChannel('S', 'M', ['a', '']), 'S|M|a||REQ');
  });

  it('names the client channels', () => {
    assert.equal(responseChannel('IOInfo', 'CLI_abc'), 'IOInfo|CLI_abc|RES');
    assert.equal(claimRequestChannel('EgressInternal', 'CLI_abc'), 'EgressInternal|CLI_abc|CLAIM');
  });
});
