/**
 * Reads the element messages gst-launch -m prints, e.g.
 * `Got message #7 from element "seg" (element): splitmuxsink-fragment-closed, location=(string)/t/s.ts, running-time=(guint64)2000`.
 * Only the serialized GstStructure's plain fields are read: strings (bare or quoted) and integers.
 */

/** One element message: who posted it, the structure's name and its fields. */
export interface ElementMessage {
  element: string;
  name: string;
  fields: Record<string, string | number>;
}

const HEAD = /^Got message #\d+ from element "([^"]+)" \(element\): ([A-Za-z][\w-]*)(?:, (.*?))?;?$/;

/** Parses one stdout line; undefined when it is not an element message. */
export function parseElementMessage(line: string): ElementMessage | undefined {
  const m = HEAD.exec(line);
  if (!m) return undefined;
  return { element: m[1]!, name: m[2]!, fields: parseFields(m[3] ?? '') };
}

function parseFields(text: string): Record<string, string | number> {
  const fields: Record<string, string | number> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) break;
    const key = text.slice(i, eq).trim();
    let j = eq + 1;
    let type = '';
    if (text[j] === '(') {
      const close = text.indexOf(')', j);
      type = text.slice(j + 1, close);
      j = close + 1;
    }
    let raw: string;
    if (text[j] === '"') {
      // Quoted: backslash escapes, up to the closing quote.
      let k = j + 1;
      raw = '';
      while (k < text.length && text[k] !== '"') {
        if (text[k] === '\\' && k + 1 < text.length) k++;
        raw += text[k];
        k++;
      }
      j = k + 1;
    } else {
      // Bare: up to the next ", " (values with commas or spaces are always quoted); bare escapes are unescaped.
      const end = text.indexOf(', ', j);
      raw = text
        .slice(j, end < 0 ? text.length : end)
        .replace(/;$/, '')
        .replace(/\\(.)/g, '$1');
      j = end < 0 ? text.length : end;
    }
    fields[key] = /^g?u?int(64)?$|^gint|^guint/.test(type) && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    i = text.indexOf(', ', j);
    if (i < 0) break;
    i += 2;
  }
  return fields;
}
