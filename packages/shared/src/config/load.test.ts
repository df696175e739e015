import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EgressError } from '../errors.js';
import { loadConfig, parseConfigFlags } from './load.js';

const BODY_YAML = 'api_key: from-body\napi_secret: s\nws_url: wss://body.example\nredis:\n  address: redis:6379\n';
const FILE_YAML = 'api_key: from-file\napi_secret: s\nws_url: wss://file.example\nredis:\n  address: redis:6379\n';

/** A readFile stub that serves one path and records every call. */
function fakeFs(files: Record<string, string>) {
  const reads: string[] = [];
  const readFile = (path: string): string => {
    reads.push(path);
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
  return { reads, readFile };
}

describe('loadConfig sources', () => {
  it('reads --config FILE', () => {
    const fs = fakeFs({ '/etc/egress.yaml': FILE_YAML });
    const result = loadConfig({ argv: ['--config', '/etc/egress.yaml'], env: {}, readFile: fs.readFile });
    assert.equal(result.config.api_key, 'from-file');
    assert.equal(result.source, '--config /etc/egress.yaml');
    assert.deepEqual(fs.reads, ['/etc/egress.yaml']);
  });

  it('reads --config=FILE, ignoring unrelated arguments', () => {
    const fs = fakeFs({ 'egress.yaml': FILE_YAML });
    const result = loadConfig({ argv: ['run', '--verbose', '--config=egress.yaml'], env: {}, readFile: fs.readFile });
    assert.equal(result.config.api_key, 'from-file');
  });

  it('reads EGRESS_CONFIG_FILE', () => {
    const fs = fakeFs({ '/cfg.yaml': FILE_YAML });
    const result = loadConfig({ env: { EGRESS_CONFIG_FILE: '/cfg.yaml' }, readFile: fs.readFile });
    assert.equal(result.config.ws_url, 'wss://file.example');
    assert.equal(result.source, 'EGRESS_CONFIG_FILE /cfg.yaml');
  });

  it('prefers the --config flag over EGRESS_CONFIG_FILE', () => {
    const fs = fakeFs({ '/flag.yaml': FILE_YAML });
    const result = loadConfig({
      argv: ['--config', '/flag.yaml'],
      env: { EGRESS_CONFIG_FILE: '/env.yaml' },
      readFile: fs.readFile,
    });
    assert.deepEqual(fs.reads, ['/flag.yaml']);
    assert.equal(result.config.api_key, 'from-file');
  });

  it('reads EGRESS_CONFIG_BODY', () => {
    const result = loadConfig({ env: { EGRESS_CONFIG_BODY: BODY_YAML } });
    assert.equal(result.config.api_key, 'from-body');
    assert.equal(result.source, 'EGRESS_CONFIG_BODY');
  });

  it('body wins over file, with a warning, and the file is not read', () => {
    const fs = fakeFs({ '/etc/egress.yaml': FILE_YAML });
    const result = loadConfig({
      argv: ['--config', '/etc/egress.yaml'],
      env: { EGRESS_CONFIG_BODY: BODY_YAML, EGRESS_CONFIG_FILE: '/etc/egress.yaml' },
      readFile: fs.readFile,
    });
    assert.equal(result.config.api_key, 'from-body');
    assert.deepEqual(fs.reads, []);
    assert.ok(
      result.warnings.some((w) => w.includes('using EGRESS_CONFIG_BODY')),
      result.warnings.join('\n'),
    );
  });

  it('accepts --config-body too, over EGRESS_CONFIG_BODY', () => {
    const result = loadConfig({
      argv: ['--config-body', FILE_YAML],
      env: { EGRESS_CONFIG_BODY: BODY_YAML },
    });
    assert.equal(result.config.api_key, 'from-file');
    assert.equal(result.source, '--config-body');
  });

  it('treats an empty EGRESS_CONFIG_BODY as unset', () => {
    const fs = fakeFs({ '/cfg.yaml': FILE_YAML });
    const result = loadConfig({
      env: { EGRESS_CONFIG_BODY: '', EGRESS_CONFIG_FILE: '/cfg.yaml' },
      readFile: fs.readFile,
    });
    assert.equal(result.config.api_key, 'from-file');
  });

  it('fails with "missing config" when there is no source', () => {
    assert.throws(
      () => loadConfig({ argv: ['--other'], env: { LIVEKIT_API_KEY: 'k' } }),
      (err: unknown) =>
        err instanceof EgressError &&
        err.code === 'invalid_argument' &&
        err.message === 'missing config: set EGRESS_CONFIG_BODY, EGRESS_CONFIG_FILE or --config',
    );
  });

  it('names the file it cannot read', () => {
    const fs = fakeFs({});
    assert.throws(
      () => loadConfig({ env: { EGRESS_CONFIG_FILE: '/nope.yaml' }, readFile: fs.readFile }),
      (err: unknown) =>
        err instanceof EgressError &&
        err.code === 'invalid_argument' &&
        err.message.includes('cannot read config file "/nope.yaml" (EGRESS_CONFIG_FILE)') &&
        err.message.includes('ENOENT'),
    );
  });

  it('reads a real file by default', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'cfg-test-'));
    try {
      writeFileSync(join(dir, 'egress.yaml'), FILE_YAML);
      const result = loadConfig({ argv: ['--config', join(dir, 'egress.yaml')], env: {} });
      assert.equal(result.config.api_key, 'from-file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the source in YAML syntax errors', () => {
    const fs = fakeFs({ '/bad.yaml': 'api_key: [1, 2\n' });
    assert.throws(
      () => loadConfig({ env: { EGRESS_CONFIG_FILE: '/bad.yaml' }, readFile: fs.readFile }),
      /invalid config: YAML syntax error in \/bad\.yaml: .* at line \d+, column \d+ \(BAD_INDENT\)$/,
    );
  });
});

describe('env fallbacks', () => {
  const REDIS_ONLY = 'redis:\n  address: redis:6379\n';

  it('fills api_key, api_secret and ws_url from LIVEKIT_* when the YAML lacks them', () => {
    const { config } = loadConfig({
      env: {
        EGRESS_CONFIG_BODY: REDIS_ONLY,
        LIVEKIT_API_KEY: 'env-key',
        LIVEKIT_API_SECRET: 'env-secret',
        LIVEKIT_WS_URL: 'ws://lk:7880',
      },
    });
    assert.equal(config.api_key, 'env-key');
    assert.equal(config.api_secret, 'env-secret');
    assert.equal(config.ws_url, 'ws://lk:7880');
  });

  it('prefers the YAML over the environment', () => {
    const { config } = loadConfig({
      env: { EGRESS_CONFIG_BODY: BODY_YAML, LIVEKIT_API_KEY: 'env-key', LIVEKIT_WS_URL: 'ws://env:7880' },
    });
    assert.equal(config.api_key, 'from-body');
    assert.equal(config.ws_url, 'wss://body.example');
  });

  it('uses the environment when the YAML value is empty', () => {
    const { config } = loadConfig({
      env: {
        EGRESS_CONFIG_BODY: `${REDIS_ONLY}api_key: ""\napi_secret: s\nws_url: ws://x\n`,
        LIVEKIT_API_KEY: 'env-key',
      },
    });
    assert.equal(config.api_key, 'env-key');
  });

  it('mentions the env variable when neither is set', () => {
    assert.throws(
      () => loadConfig({ env: { EGRESS_CONFIG_BODY: REDIS_ONLY } }),
      (err: unknown) =>
        err instanceof EgressError &&
        err.message.includes('missing required config key "api_key" (or set LIVEKIT_API_KEY)') &&
        err.message.includes('missing required config key "api_secret" (or set LIVEKIT_API_SECRET)') &&
        err.message.includes('missing required config key "ws_url" (or set LIVEKIT_WS_URL)'),
    );
  });

  it('validates env values and says where they came from', () => {
    assert.throws(
      () =>
        loadConfig({
          env: { EGRESS_CONFIG_BODY: BODY_YAML.replace(/ws_url.*\n/, ''), LIVEKIT_WS_URL: 'localhost:7880' },
        }),
      /ws_url \(from LIVEKIT_WS_URL\): must be a ws:\/\/ or wss:\/\/ URL .*\(got "localhost:7880"\)/,
    );
  });
});

describe('parseConfigFlags', () => {
  it('reads both flag spellings and stops at --', () => {
    assert.deepEqual(parseConfigFlags(['-config', 'a.yaml']), { file: 'a.yaml' });
    assert.deepEqual(parseConfigFlags(['--config-body=x: 1']), { body: 'x: 1' });
    assert.deepEqual(parseConfigFlags(['--', '--config', 'a.yaml']), {});
    assert.deepEqual(parseConfigFlags(['--configuration', 'a.yaml']), {});
  });

  it('rejects a flag without its value', () => {
    assert.throws(() => parseConfigFlags(['--config']), /--config needs a value/);
  });
});
