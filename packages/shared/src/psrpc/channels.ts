/**
 * Redis channel names, byte-identical to psrpc's "legacy" channel format: parts joined with `|`,
 * empty parts adding no segment, and every character outside [0-9A-Za-z_] escaped.
 */

/** A topic: one part, or several parts that are `|`-joined like the rest of the name. */
export type Topic = string | readonly string[];

type Part = string | readonly string[];

const SAFE = /^[0-9A-Za-z_]$/;

function escapePart(part: string): string {
  let out = '';
  for (const ch of part) {
    if (SAFE.test(ch)) {
      out += ch;
      continue;
    }
    let cp = ch.codePointAt(0) ?? 0xfffd;
    // A lone surrogate reaches Redis as U+FFFD once the string is UTF-8 encoded, so escape it as that.
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    out += cp < 0x10000 ? `u+${cp.toString(16).padStart(4, '0')}` : `U+${cp.toString(16).padStart(8, '0')}`;
  }
  return out;
}

// Mirrors psrpc's joining exactly, including its quirk: a trailing empty part inside a nested topic
// leaves a doubled delimiter ("a||REQ"), while any other empty part adds nothing.
function joinParts(parts: readonly Part[]): string {
  let out = '';
  let needDelimiter = false;
  for (const part of parts) {
    if (needDelimiter) out += '|';
    const before = out.length;
    out += typeof part === 'string' ? escapePart(part) : joinParts(part);
    needDelimiter = out.length > before;
  }
  return out;
}

/** Normalizes a topic argument into its parts. */
export function topicParts(topic: Topic | undefined): readonly string[] {
  if (topic === undefined) return [];
  return typeof topic === 'string' ? [topic] : topic;
}

/** Builds a channel name from parts; exported for tests and tools. */
export function formatChannel(...parts: Part[]): string {
  return joinParts(parts);
}

/** `<Service>|<Method>[|<topic…>]|REQ`: where clients publish Requests. */
export function requestChannel(service: string, method: string, topic?: Topic): string {
  return joinParts([service, method, topicParts(topic), 'REQ']);
}

/** `<Service>|<Method>[|<topic…>]|RCLAIM`: where clients publish their ClaimResponse (the decision). */
export function claimResponseChannel(service: string, method: string, topic?: Topic): string {
  return joinParts([service, method, topicParts(topic), 'RCLAIM']);
}

/** `<Service>|<clientId>|CLAIM`: where servers publish their ClaimRequest (the bid). */
export function claimRequestChannel(service: string, clientId: string): string {
  return joinParts([service, clientId, 'CLAIM']);
}

/** `<Service>|<clientId>|RES`: where servers publish Responses. */
export function responseChannel(service: string, clientId: string): string {
  return joinParts([service, clientId, 'RES']);
}
