import { errors } from '../errors.js';

/** Only http(s) pages are recorded: file:, data: or chrome: URLs would expose the recorder's own machine. */
export function assertHttpUrl(url: string, field: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw errors.invalidArgument(field, url, 'must be an http(s) URL');
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw errors.invalidArgument(field, url, 'must be an http(s) URL');
}

/**
 * The URL with a `token` query value replaced: a template page's token lets anyone join the room as the
 * recorder, so errors and the manifest (which sits beside the recordings) never show it.
 */
export function redactUrlToken(url: string): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('token')) return url;
    u.searchParams.set('token', 'redacted');
    return u.toString();
  } catch {
    return url;
  }
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
