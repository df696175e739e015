/**
 * docker/Dockerfile and docker/entrypoint.sh, checked offline (no Docker engine runs here): dockerfile-utils
 * validates the Dockerfile as the Docker builder parses it, the image rules below are the hadolint rules
 * that matter for this image, and shellcheck lints the entry point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { REPO } from '../e2e/fixtures/stack.js';

const dockerfile = readFileSync(path.join(REPO, 'docker/Dockerfile'), 'utf8');

/** Every check on, as errors. */
const STRICT = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

function lint(text: string): string[] {
  return validate(text, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

/** Instructions with continuation lines joined and comments dropped: [keyword, arguments]. */
function instructions(text: string): [string, string][] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [, kw = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(l) ?? [];
      return [kw.toUpperCase(), rest.replace(/\s+/g, ' ')];
    });
}

const ins = instructions(dockerfile);
const runtimeStage = ins.slice(ins.map(([k]) => k).lastIndexOf('FROM'));

test('dockerfile-utils finds nothing, and does find a broken copy', () => {
  assert.deepEqual(lint(dockerfile), []);
  const broken = dockerfile.replace('WORKDIR /recordings', 'WORKDIR recordings').replace('EXPOSE 8080', 'EXPOSE http');
  assert.equal(lint(broken).length, 2, lint(broken).join('\n'));
});

test('runtime stage: Debian 12, tini as PID 1 running the entry point, a numeric non-root user', () => {
  assert.match(runtimeStage[0]![1], /^debian:12(-slim)?$/);
  for (const [k, arg] of ins.filter(([k]) => k === 'FROM')) {
    // hadolint DL3006/DL3007: a tag, never latest.
    assert.match(arg.replace(/\$\{NODE_IMAGE\}/, 'node:20-bookworm-slim'), /^[a-z0-9./-]+:(?!latest\b)[\w.-]+/, k);
  }
  assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
  const entrypoint = runtimeStage.filter(([k]) => k === 'ENTRYPOINT');
  assert.deepEqual(
    entrypoint.map(([, a]) => JSON.parse(a) as string[]),
    [['/usr/bin/tini', '--', '/usr/local/bin/entrypoint.sh']],
  );
  const users = runtimeStage.filter(([k]) => k === 'USER').map(([, a]) => a);
  assert.equal(users.length, 1);
  const [uid, gid] = users[0]!.split(':').map(Number);
  assert.ok(uid! > 0 && gid! > 0, `USER ${users[0]} is numeric and not root (Kubernetes runAsNonRoot)`);
});

test('apt: no recommends, lists removed, a pipefail shell (hadolint DL3015, DL3009, DL4006)', () => {
  const runs = runtimeStage.filter(([k, a]) => k === 'RUN' && a.includes('apt-get install'));
  assert.equal(runs.length, 1);
  for (const [, a] of runs) {
    assert.match(a, /^apt-get update && apt-get install -y --no-install-recommends /);
    assert.match(a, /&& rm -rf \/var\/lib\/apt\/lists\/\*$/);
  }
  assert.ok(runtimeStage.some(([k, a]) => k === 'SHELL' && a.includes('pipefail')));
});

test('the image installs every runtime Debian package scripts/setup installs', () => {
  const setup = readFileSync(path.join(REPO, 'scripts/setup'), 'utf8');
  const list = /^APT_PACKAGES=\(([^)]*)\)/m.exec(setup)?.[1];
  assert.ok(list, 'APT_PACKAGES in scripts/setup');
  // Test-only tools: the stack's Redis, the linters, and the RTMP and SRT receivers of the stream tests.
  const devOnly = new Set(['redis-server', 'shellcheck', 'nginx', 'libnginx-mod-rtmp', 'srt-tools']);
  const needed = list.split(/\s+/).filter((p) => p && !devOnly.has(p));
  const install = runtimeStage.find(([k, a]) => k === 'RUN' && a.includes('apt-get install'))![1];
  const installed = new Set(install.split(/\s+/));
  assert.deepEqual(
    needed.filter((p) => !installed.has(p)),
    [],
    'missing from the image',
  );
  assert.ok(installed.has('tini') && installed.has('chromium') && installed.has('pulseaudio'));
});

test('every COPY source exists and is not filtered out of the build context', () => {
  const ignore = readFileSync(path.join(REPO, 'docker/Dockerfile.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  const copies = ins.filter(([k, a]) => k === 'COPY' && !a.startsWith('--from'));
  assert.ok(copies.length >= 6);
  for (const [, a] of copies) {
    const sources = a.split(' ').slice(0, -1);
    for (const src of sources) {
      assert.ok(existsSync(path.join(REPO, src)), `COPY source ${src} exists`);
      const top = src.replace(/\/$/, '').split('/')[0]!;
      assert.ok(!ignore.includes(top), `${src} is not in Dockerfile.dockerignore`);
    }
  }
  // The build needs every workspace manifest the lockfile names.
  const workspaces = readFileSync(path.join(REPO, 'pnpm-workspace.yaml'), 'utf8');
  for (const dir of ['packages/shared', 'packages/recorder', 'packages/supervisor', 'test']) {
    assert.ok(workspaces.includes(dir.split('/')[0]!));
    assert.ok(dockerfile.includes(`COPY ${dir}/package.json ${dir}/`), `${dir}/package.json is copied`);
  }
});

test('shellcheck passes docker/entrypoint.sh', () => {
  // Debian's shellcheck (scripts/setup installs it); exits non-zero with the findings.
  execFileSync('shellcheck', ['--severity=style', path.join(REPO, 'docker/entrypoint.sh')], { encoding: 'utf8' });
});

test('the entry point refuses to empty /tmp or HOME, and leaves them untouched', () => {
  // In private mount and PID namespaces with a tmpfs on /tmp: were the guard broken, only that tmpfs would be
  // emptied, and whatever the script started would die with the namespace.
  const entry = path.join(REPO, 'docker/entrypoint.sh');
  for (const tmp of ['/tmp', '/tmp/h']) {
    const script = [
      // Opened before the tmpfs hides it: the checkout itself may live under /tmp.
      `exec 3<"${entry}"`,
      'mount -t tmpfs none /tmp',
      'mkdir -p /tmp/h && touch /tmp/keep /tmp/h/keep',
      'HOME=/tmp/h EGRESS_TMP=' + tmp + ' EGRESS_BIN=/bin/false bash /dev/fd/3',
      'rc=$?',
      'if [ -e /tmp/keep ] && [ -e /tmp/h/keep ]; then exit $rc; else echo "files were removed"; exit 99; fi',
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--pid', '--fork', '--kill-child', 'bash', '-c', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, `EGRESS_TMP=${tmp}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^entrypoint: refusing to clear \S+ \(\S+\): point EGRESS_TMP at a directory of its own$/m);
  }
});
