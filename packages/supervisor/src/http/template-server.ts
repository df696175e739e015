import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where scripts/setup builds the room-composite templates (web-templates/dist in the repository). */
export function defaultTemplateRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../web-templates/dist');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type of a file by its extension; unknown ones are served as opaque bytes. */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` a request path names, or undefined when it names none: a path that leaves the
 * root (`..`, encoded or not, or a symlink out of it), a directory without index.html, or a missing file.
 * A missing path without an extension is a page route and gets index.html, so custom paths under
 * template_base still load the app.
 */
export async function resolveTemplateFile(root: string, requestPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const realRoot = await realpath(root).catch(() => undefined);
  if (!realRoot) return undefined;
  const candidate = path.resolve(realRoot, `.${path.posix.normalize(`/${decoded}`)}`);
  const inside = (p: string): boolean => p === realRoot || p.startsWith(realRoot + path.sep);
  if (!inside(candidate)) return undefined;
  const found = await fileAt(candidate, inside);
  if (found) return found;
  return path.extname(candidate) === '' ? fileAt(path.join(realRoot, 'index.html'), inside) : undefined;
}

/** `p` itself if it is a file inside the root, or its index.html if it is a directory. */
async function fileAt(p: string, inside: (p: string) => boolean): Promise<string | undefined> {
  const real = await realpath(p).catch(() => undefined);
  if (!real || !inside(real)) return undefined;
  const st = await stat(real).catch(() => undefined);
  if (st?.isFile()) return real;
  if (st?.isDirectory()) return fileAt(path.join(real, 'index.html'), inside);
  return undefined;
}

/**
 * Serves the room-composite templates on `port`, bound to 127.0.0.1 only: the recorder's Chromium is the
 * only client, as with upstream's template server on localhost. Port 0 picks a free port.
 */
export function startTemplateServer(port: number, root: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    const requestPath = (req.url ?? '/').split(/[?#]/, 1)[0] ?? '/';
    void resolveTemplateFile(root, requestPath).then((file) => {
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      void stat(file).then(
        (st) => {
          res.writeHead(200, {
            'content-type': contentTypeOf(file),
            'content-length': st.size,
            // Hashed asset names change with every build; the page itself must never be stale.
            'cache-control': file.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
          });
          if (req.method === 'HEAD') {
            res.end();
            return;
          }
          createReadStream(file)
            .on('error', () => res.destroy())
            .pipe(res);
        },
        () => {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found\n');
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
