import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTemplateServer } from './template-server.js';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

/** A raw request: the path goes on the wire exactly as given (no client-side normalization). */
function request(port: number, rawPath: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('template server', () => {
  let dir: string;
  let root: string;
  let server: http.Server;
  let port: number;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'template-server-'));
    root = path.join(dir, 'dist');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>index</title>');
    await writeFile(path.join(root, 'assets', 'app-1.js'), 'console.log(1)');
    await writeFile(path.join(root, 'assets', 'app-1.css'), 'body{}');
    await writeFile(path.join(dir, 'secret.txt'), 'SECRET');
    await symlink(path.join(dir, 'secret.txt'), path.join(root, 'assets', 'link.txt'));
    server = await startTemplateServer(0, root);
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on loopback only', () => {
    assert.equal((server.address() as AddressInfo).address, '127.0.0.1');
  });

  it('serves the page for the template URL with its query parameters', async () => {
    const r = await request(port, '/?layout=grid-light&url=ws%3A%2F%2F127.0.0.1%3A7880&token=abc');
    assert.deepEqual(
      [r.status, r.type, r.body],
      [200, 'text/html; charset=utf-8', '<!doctype html><title>index</title>'],
    );
  });

  it('serves assets with their content types', async () => {
    const js = await request(port, '/assets/app-1.js');
    assert.deepEqual([js.status, js.type, js.body], [200, 'text/javascript; charset=utf-8', 'console.log(1)']);
    const css = await request(port, '/assets/app-1.css');
    assert.deepEqual([css.status, css.type], [200, 'text/css; charset=utf-8']);
  });

  it('falls back to index.html for page routes, but not for missing assets', async () => {
    const route = await request(port, '/speaker-dark?layout=x');
    assert.deepEqual([route.status, route.type], [200, 'text/html; charset=utf-8']);
    const missing = await request(port, '/assets/missing.js');
    assert.equal(missing.status, 404);
  });

  it('never serves a file outside the root', async () => {
    for (const p of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets/link.txt',
      '/%00',
      '/%E0%A4%A',
    ]) {
      const r = await request(port, p);
      assert.notEqual(r.body, 'SECRET', p);
      assert.ok(r.status === 404 || (r.status === 200 && r.body.includes('<title>index</title>')), `${p}: ${r.status}`);
    }
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await request(port, '/', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
    const post = await request(port, '/', 'POST');
    assert.equal(post.status, 405);
  });

  it('fails to start naming the busy port', async () => {
    await assert.rejects(startTemplateServer(port, root), /EADDRINUSE/);
  });
});
