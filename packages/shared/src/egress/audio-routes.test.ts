import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AudioChannel, AudioMixing, ParticipantInfo_Kind } from '@livekit/protocol';
import { audioChannelName, audioMixingName, participantKindName } from './audio-routes.js';

describe('audio routing enums', () => {
  it('names every protocol value', () => {
    assert.deepEqual(
      [AudioChannel.BOTH, AudioChannel.LEFT, AudioChannel.RIGHT].map((v) => audioChannelName(v, 'c')),
      ['both', 'left', 'right'],
    );
    const kinds = [
      ParticipantInfo_Kind.STANDARD,
      ParticipantInfo_Kind.INGRESS,
      ParticipantInfo_Kind.EGRESS,
      ParticipantInfo_Kind.SIP,
      ParticipantInfo_Kind.AGENT,
      ParticipantInfo_Kind.CONNECTOR,
      ParticipantInfo_Kind.BRIDGE,
    ];
    assert.deepEqual(
      kinds.map((v) => participantKindName(v, 'k')),
      ['standard', 'ingress', 'egress', 'sip', 'agent', 'connector', 'bridge'],
    );
    assert.equal(participantKindName(7, 'k'), 'connector', 'the protocol number of CONNECTOR');
    assert.deepEqual(
      [AudioMixing.DEFAULT_MIXING, AudioMixing.DUAL_CHANNEL_AGENT, AudioMixing.DUAL_CHANNEL_ALTERNATE].map((v) =>
        audioMixingName(v, 'm'),
      ),
      ['default', 'dual_channel_agent', 'dual_channel_alternate'],
    );
  });

  it('refuses values the protocol does not define, naming the field and the value', () => {
    assert.throws(() => audioChannelName(3, 'x.channel'), {
      code: 'invalid_argument',
      message: /^x\.channel: .*\(got 3\)/,
    });
    // 5 is CONNECTOR in rtc-node's numbering, nothing in the protocol's.
    assert.throws(() => participantKindName(5, 'x.participant_kind'), {
      code: 'invalid_argument',
      message: /^x\.participant_kind: must be one of STANDARD, .*CONNECTOR, BRIDGE \(got 5\)/,
    });
    assert.throws(() => audioMixingName(-1, 'x.audio_mixing'), {
      code: 'invalid_argument',
      message: /^x\.audio_mixing: .*\(got -1\)/,
    });
  });
});
