/**
 * A strict reader over the parsed YAML tree. Each `Section` wraps one mapping; every key it is asked
 * about becomes "known", and whatever is left at the end is an unknown key (an error, with a
 * suggestion). Problems and warnings are collected, never thrown, so one run reports them all.
 */
import { showValue } from '../errors.js';
import { parseGoDuration } from './duration.js';
import { isSecretPath, REDACTED } from './redact.js';
import { closestKey } from './suggest.js';

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How a value appears in a message: secrets as "***", collections by kind only. */
export function describeValue(value: unknown, secret: boolean): string {
  if (secret) return showValue(REDACTED);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return showValue(value);
}

/** Nothing worth warning about: absent, null, false, 0, '' or an empty collection. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isMapping(value)) return Object.keys(value).length === 0;
  return false;
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['true', 'yes', 'on', 'y']);
const FALSE_WORDS = new Set(['false', 'no', 'off', 'n']);

export interface NumberRule {
  integer?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** As upstream: an explicit 0 means "use the default". */
  zeroMeansDefault?: boolean;
  /** Overrides the generated "must be ..." text. */
  why?: string;
}

function describeRule(rule: NumberRule): string {
  if (rule.why) return rule.why;
  const kind = rule.integer ? 'an integer' : 'a number';
  const bounds: string[] = [];
  if (rule.above !== undefined) bounds.push(`> ${rule.above}`);
  if (rule.min !== undefined) bounds.push(`>= ${rule.min}`);
  if (rule.max !== undefined) bounds.push(`<= ${rule.max}`);
  return `must be ${kind}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
}

interface UnknownKey {
  path: string;
  key: string;
  siblings: readonly string[];
}

export class Collector {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  /** Every dotted path a section asked about (for "did you mean" across levels). */
  readonly knownPaths = new Set<string>();
  readonly unknown: UnknownKey[] = [];

  /** Source text of plain YAML scalars that parsed as non-strings (`0123`, `1e3`), by dotted path. */
  constructor(readonly scalarText: ReadonlyMap<string, string> = new Map()) {}

  invalid(path: string, value: unknown, why: string, secret = isSecretPath(path)): void {
    this.problems.push(`${path}: ${why} (got ${describeValue(value, secret)})`);
  }

  missing(path: string, hint?: string): void {
    this.problems.push(`missing required config key "${path}"${hint ? ` (${hint})` : ''}`);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** One problem per unknown key, with a suggestion from the same level or the same name elsewhere. */
  unknownProblems(): string[] {
    return this.unknown.map(({ path, key, siblings }) => {
      const suggestion = closestKey(key, siblings);
      let where = suggestion === undefined ? undefined : join(parentOf(path), suggestion);
      if (where === undefined) {
        for (const known of this.knownPaths) {
          if (known !== path && (known === key || known.endsWith(`.${key}`))) {
            where = known;
            break;
          }
        }
      }
      return `unknown config key "${path}"${where ? ` (did you mean "${where}"?)` : ''}`;
    });
  }
}

export function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

function parentOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

export class Section {
  private readonly handled = new Set<string>();
  private readonly suggestable = new Set<string>();

  constructor(
    readonly c: Collector,
    readonly path: string,
    private readonly raw: Mapping,
  ) {}

  pathOf(key: string): string {
    return join(this.path, key);
  }

  /** Marks the key known and returns its value; null counts as absent. */
  take(key: string, suggest = true): unknown {
    this.handled.add(key);
    if (suggest) {
      this.suggestable.add(key);
      this.c.knownPaths.add(this.pathOf(key));
    }
    const value = Object.hasOwn(this.raw, key) ? this.raw[key] : undefined;
    return value === null ? undefined : value;
  }

  /** True when the key holds a non-null value (does not mark it known). */
  present(key: string): boolean {
    return Object.hasOwn(this.raw, key) && this.raw[key] !== null && this.raw[key] !== undefined;
  }

  /** Records every key this section was not asked about as unknown. Call once, after reading. */
  finish(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.handled.has(key)) {
        this.c.unknown.push({ path: this.pathOf(key), key, siblings: [...this.suggestable] });
      }
    }
  }

  /** A nested mapping. Absent → undefined; `key:` with no value → an empty section. */
  section(key: string): Section | undefined {
    const present = Object.hasOwn(this.raw, key);
    const value = this.take(key);
    if (!present) return undefined;
    if (value === undefined) return new Section(this.c, this.pathOf(key), {});
    if (!isMapping(value)) {
      this.c.invalid(this.pathOf(key), value, 'must be a mapping of keys to values', false);
      return undefined;
    }
    return new Section(this.c, this.pathOf(key), value);
  }

  /** A string; YAML numbers and booleans keep their source text (`0123` stays "0123"). */
  str(key: string): string | undefined {
    const value = this.take(key);
    return this.toStr(this.pathOf(key), value);
  }

  private toStr(path: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      return this.c.scalarText.get(path) ?? String(value);
    }
    this.c.invalid(path, value, 'must be a string');
    return undefined;
  }

  /** A non-empty string, or a "missing required" problem. */
  requiredStr(key: string, hint?: string): string {
    const path = this.pathOf(key);
    const value = this.take(key);
    if (value === undefined || value === '') {
      this.c.missing(path, hint);
      return '';
    }
    return this.toStr(path, value) ?? '';
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.take(key);
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const word = value.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
    }
    this.c.invalid(this.pathOf(key), value, 'must be true or false');
    return fallback;
  }

  num(key: string, fallback: number, rule: NumberRule = {}): number {
    const path = this.pathOf(key);
    const value = this.take(key);
    if (value === undefined) return fallback;
    const n =
      typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value) : NaN;
    const ok =
      Number.isFinite(n) &&
      (!rule.integer || Number.isInteger(n)) &&
      (rule.min === undefined || n >= rule.min) &&
      (rule.max === undefined || n <= rule.max) &&
      (rule.above === undefined || n > rule.above || (n === 0 && rule.zeroMeansDefault === true));
    if (!ok) {
      this.c.invalid(path, value, describeRule(rule));
      return fallback;
    }
    return n === 0 && rule.zeroMeansDefault ? fallback : n;
  }

  port(key: string, fallback: number, zeroMeansDefault = false): number {
    return this.num(key, fallback, {
      integer: true,
      min: 0,
      max: 65535,
      zeroMeansDefault,
      why: 'must be an integer port 0-65535',
    });
  }

  /** A Go duration (`45s`, `1h30m`) or 0, as milliseconds. */
  duration(key: string, fallbackMs: number, zeroMeansDefault = false): number {
    const path = this.pathOf(key);
    const value = this.take(key);
    if (value === undefined) return fallbackMs;
    let ms: number | undefined;
    if (value === 0) ms = 0;
    else if (typeof value === 'number') {
      this.c.invalid(
        path,
        value,
        'must be a duration with a unit, like "45s", "90m" or "1h30m" (a bare number is ambiguous)',
      );
      return fallbackMs;
    } else if (typeof value === 'string') ms = parseGoDuration(value);
    if (ms === undefined) {
      this.c.invalid(path, value, 'must be a duration like "500ms", "45s", "90m" or "1h30m", or 0');
      return fallbackMs;
    }
    if (ms < 0) {
      this.c.invalid(path, value, 'must not be negative');
      return fallbackMs;
    }
    return ms === 0 && zeroMeansDefault ? fallbackMs : ms;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.take(key);
    if (value === undefined) return fallback;
    const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
    const match = allowed.find((candidate) => candidate === text);
    if (match === undefined) {
      this.c.invalid(this.pathOf(key), value, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return match;
  }

  /** A mapping whose values are strings (keys free-form: no unknown-key checks inside). */
  stringMap(key: string): Record<string, string> {
    return this.freeMap(key, 'string', (path, value) => this.toStr(path, value));
  }

  /** A mapping whose values are strings, booleans or numbers. */
  scalarMap(key: string): Record<string, string | boolean | number> {
    return this.freeMap(key, 'string, boolean or number', (path, value) => {
      if (typeof value === 'string' || typeof value === 'boolean') return value;
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      this.c.invalid(path, value, 'must be a string, boolean or number');
      return undefined;
    });
  }

  private freeMap<T>(
    key: string,
    kind: string,
    convert: (path: string, value: unknown) => T | undefined,
  ): Record<string, T> {
    const path = this.pathOf(key);
    const value = this.take(key);
    const out: Record<string, T> = {};
    if (value === undefined) return out;
    if (!isMapping(value)) {
      this.c.invalid(path, value, `must be a mapping of names to ${kind} values`, false);
      return out;
    }
    for (const [name, inner] of Object.entries(value)) {
      const innerPath = join(path, name);
      if (inner === undefined || inner === null) {
        this.c.invalid(innerPath, inner, `must be a ${kind}`);
        continue;
      }
      const converted = convert(innerPath, inner);
      if (converted !== undefined) out[name] = converted;
    }
    return out;
  }

  /** A key upstream knows and we do not implement: accepted, with a warning when it is set. */
  ignored(key: string, why: string): void {
    const value = this.take(key);
    if (!isEmptyValue(value)) this.c.warn(`config key "${this.pathOf(key)}" ${why}`);
  }

  /** A key upstream removed (and now silently ignores): an error with a migration hint. */
  removed(key: string, hint: string): void {
    const value = this.take(key, false);
    if (!isEmptyValue(value)) this.c.problems.push(`config key "${this.pathOf(key)}" is no longer read: ${hint}`);
  }
}
