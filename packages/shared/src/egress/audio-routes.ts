/**
 * The audio routing enums of the protocol (AudioChannel, ParticipantInfo.Kind, AudioMixing) as the plan's
 * names. Values arrive as numbers and may be ones this build does not know: those are invalid_argument.
 */
import { AudioChannel, AudioMixing, ParticipantInfo_Kind } from '@livekit/protocol';
import { errors } from '../errors.js';
import type { AudioChannelName, ParticipantKindName, SdkAudioMixing } from './plan.js';

const CHANNELS: Record<AudioChannel, AudioChannelName> = {
  [AudioChannel.BOTH]: 'both',
  [AudioChannel.LEFT]: 'left',
  [AudioChannel.RIGHT]: 'right',
};

// Keyed by the protocol's names: rtc-node numbers the same kinds differently (CONNECTOR is 7 here, 5 there).
const KINDS: Record<ParticipantKindName, ParticipantInfo_Kind> = {
  standard: ParticipantInfo_Kind.STANDARD,
  ingress: ParticipantInfo_Kind.INGRESS,
  egress: ParticipantInfo_Kind.EGRESS,
  sip: ParticipantInfo_Kind.SIP,
  agent: ParticipantInfo_Kind.AGENT,
  connector: ParticipantInfo_Kind.CONNECTOR,
  bridge: ParticipantInfo_Kind.BRIDGE,
};

const MIXINGS: Record<AudioMixing, SdkAudioMixing> = {
  [AudioMixing.DEFAULT_MIXING]: 'default',
  [AudioMixing.DUAL_CHANNEL_AGENT]: 'dual_channel_agent',
  [AudioMixing.DUAL_CHANNEL_ALTERNATE]: 'dual_channel_alternate',
};

/** An AudioRoute's channel; throws invalid_argument naming `field` for an unknown value. */
export function audioChannelName(value: number, field: string): AudioChannelName {
  const name = (CHANNELS as Record<number, AudioChannelName | undefined>)[value];
  if (!name) throw errors.invalidArgument(field, value, 'must be AUDIO_CHANNEL_BOTH, _LEFT or _RIGHT');
  return name;
}

/** An AudioRoute's participant_kind; throws invalid_argument naming `field` for an unknown value. */
export function participantKindName(value: number, field: string): ParticipantKindName {
  const entry = Object.entries(KINDS).find(([, v]) => v === value);
  if (!entry) {
    const known = Object.keys(KINDS).map((k) => k.toUpperCase());
    throw errors.invalidArgument(field, value, `must be one of ${known.join(', ')}`);
  }
  return entry[0] as ParticipantKindName;
}

/** A room composite's audio_mixing; throws invalid_argument naming `field` for an unknown value. */
export function audioMixingName(value: number, field: string): SdkAudioMixing {
  const name = (MIXINGS as Record<number, SdkAudioMixing | undefined>)[value];
  if (!name) {
    throw errors.invalidArgument(field, value, 'must be DEFAULT_MIXING, DUAL_CHANNEL_AGENT or DUAL_CHANNEL_ALTERNATE');
  }
  return name;
}
