import { errors } from '../errors.js';

/** Only http(s) pages are recorded: file:, data: or chrome: URLs would expose the recorder's own machine. */
export function assertHttpUrl(url: string, field: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw errors.invalidArgument(field, redactUrlToken(url), 'must be an http(s) URL');
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw errors.invalidArgument(field, redactUrlToken(url), 'must be an http(s) URL');
  }
}

/** Query parameters that carry a credential: a room token (template pages) or an access token (custom pages). */
const TOKEN_PARAMS = ['token', 'access_token'];

/**
 * The URL with its `token` and `access_token` query values and any user:password replaced: a template page's token
 * lets anyone join the room as the recorder, so errors, the manifest and the request copy never show it.
 */
export function redactUrlToken(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactTokenParams(url);
  }
  const names = [...new Set(u.searchParams.keys())].filter((n) => TOKEN_PARAMS.includes(n.toLowerCase()));
  if (names.length === 0 && !u.username && !u.password) return url;
  for (const n of names) u.searchParams.set(n, 'redacted');
  if (u.username) u.username = 'redacted';
  if (u.password) u.password = 'redacted';
  return u.toString();
}

/** A websocket sink URL with every query value and any user:password replaced: the receiver's auth may be any of them. */
export function redactQueryValues(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/[?#].*$/, '?redacted');
  }
  for (const name of new Set(u.searchParams.keys())) u.searchParams.set(name, 'redacted');
  return redactUrlToken(u.toString());
}

/** `token=` / `access_token=` query values, raw or percent-encoded inside another URL's query. */
const TOKEN_PARAM = /((?:[?&]|%3F|%26)(?:access_)?token(?:=|%3D))[^&#\s"'<>]+/gi;

/**
 * Free text (a log line, an error) with every `token` and `access_token` query value replaced, wherever a
 * URL in it came from: the page's own URL, the room's WebSocket URL the template opens, a failed request.
 */
export function redactTokenParams(text: string): string {
  return text.replace(TOKEN_PARAM, '$1redacted');
}
