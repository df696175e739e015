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
