/**
 * The template side of the egress contract: the recorder reads these console lines (upstream's template
 * SDK protocol), so each is printed exactly once.
 */
let started = false;
let ended = false;

/** Tells the recorder that media is on screen: capture starts now. */
export function startRecording(): void {
  if (started) return;
  started = true;
  console.log('START_RECORDING');
}

/** Tells the recorder that the room is over: the recording ends. */
export function endRecording(): void {
  if (ended) return;
  ended = true;
  console.log('END_RECORDING');
}

/** The page's query parameters, as the egress passes them. */
export interface TemplateParams {
  url: string;
  token: string;
  layout: string;
}

/** Reads url, token and layout from the query string; throws naming a missing parameter. */
export function readParams(search: string): TemplateParams {
  const query = new URLSearchParams(search);
  const url = query.get('url') ?? '';
  const token = query.get('token') ?? '';
  if (!url) throw new Error('missing query parameter "url" (the LiveKit server URL)');
  if (!/^wss?:\/\//.test(url)) throw new Error(`query parameter "url" must be a ws:// or wss:// URL, got "${url}"`);
  if (!token) throw new Error('missing query parameter "token"');
  return { url, token, layout: query.get('layout') ?? '' };
}
