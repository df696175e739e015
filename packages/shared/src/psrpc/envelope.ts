/**
 * The Redis payload: psrpc's `internal.Msg`, which is `google.protobuf.Any` plus an unused field 3.
 * Encoding is `Any.pack`; decoding checks the type URL and never lets a parser exception escape unwrapped.
 */
import { Any, type Message, type MessageType } from '@bufbuild/protobuf';
import { EgressError, errorMessage, type ErrorCode } from '../errors.js';

/** Wraps a message as psrpc does: `Any{type_url: "type.googleapis.com/<full name>", value}`. */
export function encodeEnvelope(message: Message): Uint8Array {
  return Any.pack(message).toBinary();
}

/**
 * Decodes a Redis payload that must hold a `type`. Unknown fields (such as Msg.channel) are ignored.
 * Throws EgressError `malformed_request` for garbage or a different message type.
 */
export function decodeEnvelope<T extends Message<T>>(payload: Uint8Array, type: MessageType<T>): T {
  let envelope: Any;
  try {
    envelope = Any.fromBinary(payload, { readUnknownFields: false });
  } catch (err) {
    throw new EgressError('malformed_request', `bad psrpc envelope: ${errorMessage(err)}`);
  }
  if (!envelope.is(type)) {
    throw new EgressError('malformed_request', `unexpected psrpc message type ${JSON.stringify(envelope.typeUrl)}`);
  }
  return decodePayload(type, envelope.value, 'malformed_request');
}

/**
 * Decodes raw protobuf bytes (a `raw_request` or `raw_response`) as `type`, ignoring unknown fields.
 * Throws EgressError with `code` when the bytes don't parse.
 */
export function decodePayload<T extends Message<T>>(type: MessageType<T>, bytes: Uint8Array, code: ErrorCode): T {
  try {
    return type.fromBinary(bytes, { readUnknownFields: false });
  } catch (err) {
    throw new EgressError(code, `cannot decode ${type.typeName}: ${errorMessage(err)}`);
  }
}
