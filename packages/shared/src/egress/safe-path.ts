/**
 * The one owner of where a requested output path may go. Values spliced into a path (room names, identities,
 * track ids) are sanitised; the filled path is normalised under `local_output_dir` and refused when it would
 * climb out of it, reach the scratch or log directories, or carry control characters. The planner and the
 * recorder's late fill of track names both go through here, and so do object keys.
 */
import path from 'node:path';
import { errors } from '../errors.js';

/** The directories a plan's outputs are confined to (and kept out of). */
export interface OutputRoots {
  /** Config `local_output_dir`: every local output is inside it. */
  localOutputDir: string;
  /** Config `tmp_dir`: every egress's scratch directory is under it, so no output may be. */
  tmpDir?: string;
  /** Config `log_dir`: per-egress logs. */
  logDir?: string;
}

/** A requested path, filled, normalised and confined. */
export interface ResolvedPath {
  /** As reported (FileInfo.filename): relative, or absolute when the request named a path inside the root. */
  filename: string;
  /** The object key before the storage prefix: relative, no `..`. */
  key: string;
  /** Absolute local path, inside `local_output_dir`. */
  destination: string;
}

/** Linux NAME_MAX, in bytes. */
export const NAME_MAX = 255;
/** Room kept in a file name for what outputs append: segment and image suffixes, -part<n>, .partial-<uuid>. */
const SUFFIX_ROOM = 64;
/** Longest placeholder value, in UTF-8 bytes. */
export const VALUE_MAX = 128;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0, DEL, C1 and the Unicode line and paragraph separators: anything that could break a line or a name.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const CONTROL_ALL = /[\p{Cc}\u2028\u2029]/gu;
// Percent-encoded dots too: URL parsers (object store clients) resolve "%2e%2e" as "..".
const DOT_DOT = /^(?:\.|%2e){2}$/i;

/** The longest prefix of `s` of at most `max` UTF-8 bytes, cut on a character boundary. */
export function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    bytes += Buffer.byteLength(ch);
    if (bytes > max) break;
    out += ch;
  }
  return out;
}

/**
 * A placeholder value made safe to splice into one path component: separators, control characters, invalid
 * UTF-16, braces (a value must not carry a placeholder into a later fill) and leading dots (also percent-encoded)
 * become "_", and it is capped at VALUE_MAX bytes.
 */
export function sanitizeValue(value: string): string {
  // Every code unit is at least one byte, so nothing past VALUE_MAX + 1 of them can survive the cap.
  const clean = value
    .slice(0, VALUE_MAX + 1)
    .replace(LONE_SURROGATE, '_')
    .replace(CONTROL_ALL, '_')
    .replace(/[/\\{}]/g, '_')
    .replace(/^(?:\.|%2e)+/i, (dots) => dots.replace(/\.|%2e/gi, '_'));
  return truncateUtf8(clean, VALUE_MAX);
}

/** Refuses NUL, control characters, newlines, invalid UTF-16 and any `..` segment (also between backslashes). */
/** Refuses a path with NUL, a control character, invalid Unicode or a `..` segment, naming `at` and `shown`. */
export function assertClean(p: string, at: string, shown: string): void {
  if (p.includes('\0')) throw errors.invalidArgument(at, shown, 'contains a NUL byte');
  if (CONTROL.test(p)) throw errors.invalidArgument(at, shown, 'contains a control character or line break');
  if (new RegExp(LONE_SURROGATE.source).test(p)) throw errors.invalidArgument(at, shown, 'is not valid Unicode');
  if (p.split(/[/\\]/).some((s) => DOT_DOT.test(s))) {
    throw errors.invalidArgument(at, shown, 'must not contain a ".." segment');
  }
}

/** Each component capped at NAME_MAX bytes; the file name keeps its extension and room for suffixes. */
function capComponents(p: string): string {
  const parts = p.split('/');
  const last = parts.length - 1;
  return parts
    .map((part, i) => {
      if (i !== last) return truncateUtf8(part, NAME_MAX);
      const ext = path.extname(part);
      const keep = Buffer.byteLength(ext) <= 16 ? ext : '';
      return (
        truncateUtf8(part.slice(0, part.length - keep.length), NAME_MAX - SUFFIX_ROOM - Buffer.byteLength(keep)) + keep
      );
    })
    .join('/');
}

/** `p` is `dir` or below it (both absolute and normalised). */
function within(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel));
}

/**
 * Normalises a filled request path (`shown`: the value as requested, for errors) under the roots: an absolute
 * path inside `local_output_dir` stays, any other is taken relative to it. Throws invalid_argument naming `at`.
 */
export function confinePath(p: string, roots: OutputRoots, at: string, shown: string = p): ResolvedPath {
  assertClean(p, at, shown);
  const root = path.resolve(roots.localOutputDir);
  const norm = capComponents(path.posix.normalize(p));
  const key = norm.replace(/^\/+/, '');
  const absInside = path.isAbsolute(norm) && within(root, norm);
  const rel = absInside ? path.relative(root, norm) : key;
  if (rel === '' || rel === '.') throw errors.invalidArgument(at, shown, 'names no file');
  const destination = path.join(root, rel);
  if (!within(root, destination) || destination === root) {
    throw errors.invalidArgument(at, shown, `must stay inside local_output_dir ${root}`);
  }
  for (const [name, dir] of [
    ['tmp_dir', roots.tmpDir],
    ['log_dir', roots.logDir],
  ] as const) {
    if (dir && within(path.resolve(dir), destination)) {
      throw errors.invalidArgument(at, shown, `must not be inside ${name}`);
    }
  }
  return { filename: absInside ? norm : key, key, destination };
}

/** An object key made relative (no leading "/") and refused when it would leave its prefix. */
export function safeObjectKey(key: string, at = 'key'): string {
  assertClean(key, at, key);
  const k = key.replace(/^\/+/, '');
  return k === '' ? '' : path.posix.normalize(k);
}
