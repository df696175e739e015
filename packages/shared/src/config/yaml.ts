/**
 * YAML text → plain JS tree, with syntax errors worded so that no source text (which may hold a
 * secret) ends up in the message.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLError } from 'yaml';
import { ConfigError } from './config-error.js';
import { join } from './reader.js';

export interface ParsedYaml {
  /** The document as plain JS (null for an empty document). */
  value: unknown;
  /** Source text of plain scalars that parsed as non-strings, by dotted path: `password: 0123` → "0123". */
  scalarText: Map<string, string>;
  /** Non-fatal parser remarks (e.g. an unknown tag), worded like errors. */
  warnings: string[];
}

/**
 * Keeps the library's wording only up to the first character that could quote the source
 * (`Unexpected scalar token in YAML stream: "hunter2"` → `Unexpected scalar token in YAML stream`).
 */
function safeMessage(message: string): string {
  const firstLine = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const text = firstLine.replace(/"quote/g, 'double quote').replace(/'quote/g, 'single quote');
  const safe = /^[A-Za-z0-9 ,;()[\]{}'.-]*/.exec(text)?.[0] ?? '';
  return safe.trim().replace(/[,;]$/, '') || 'invalid YAML';
}

function describeIssue(issue: YAMLError): string {
  const pos = issue.linePos?.[0];
  const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
  return `${safeMessage(issue.message)}${where} (${issue.code})`;
}

function collectScalarText(
  node: unknown,
  path: string,
  out: Map<string, string>,
  problems: string[],
  lines: LineCounter,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      if (isScalar(key) && typeof key.value === 'symbol') continue; // `<<` merge key: merged values come from toJS
      if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
        const offset = (key as Node | null)?.range?.[0];
        const where = offset === undefined ? '' : ` at line ${lines.linePos(offset).line}`;
        problems.push(`${path || 'top level'}: keys must be plain names${where}`);
        continue;
      }
      collectScalarText(pair.value, join(path, String(key.value)), out, problems, lines);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => collectScalarText(item, `${path}[${index}]`, out, problems, lines));
  } else if (isScalar(node) && node.type === 'PLAIN' && typeof node.value !== 'string' && node.source !== undefined) {
    out.set(path, node.source);
  }
}

/** Parses one YAML document; `origin` names the source in messages (a file path or an env var). */
export function parseYaml(text: string, origin: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: true });
  const firstError = doc.errors[0];
  if (firstError) {
    // Later errors are mostly the parser's cascade from the first: report only that one.
    throw new ConfigError([`YAML syntax error in ${origin}: ${describeIssue(firstError)}`]);
  }
  const problems: string[] = [];
  const scalarText = new Map<string, string>();
  collectScalarText(doc.contents, '', scalarText, problems, lineCounter);
  if (problems.length > 0) throw new ConfigError(problems);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([
      `YAML error in ${origin}: ${safeMessage(err instanceof Error ? err.message : String(err))}`,
    ]);
  }
  const warnings = doc.warnings.map((w) => `YAML warning in ${origin}: ${describeIssue(w)}`);
  return { value, scalarText, warnings };
}
