/**
 * The Helm chart in docker/k8s, checked offline: `helm lint --strict`, `helm template`, every rendered object
 * decoded strictly into its Kubernetes API type (scripts/lib/k8s-check), and the rendered config validated
 * by the service's own config loader. helm and k8s-check are built by scripts/setup into .cache/bin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfig } from '@egress/shared';
import { REPO } from '../e2e/fixtures/stack.js';

const HELM = path.join(REPO, '.cache/bin/helm');
const K8S_CHECK = path.join(REPO, '.cache/bin/k8s-check');
const CHART = path.join(REPO, 'docker/k8s/egress');
const REQUIRED = [
  'config.api_key=devkey',
  'config.api_secret=secretsecretsecretsecretsecret12',
  'config.ws_url=ws://livekit-server:7880',
  'config.redis.address=redis:6379',
];

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are checked field by field */
type Obj = Record<string, any>;

function helm(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(HELM, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${HELM}: ${r.error.message} (run scripts/setup)`);
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function render(sets: string[]): { text: string; objects: Obj[] } {
  const args = ['template', 'rel', CHART, '--kube-version', '1.30.0'];
  for (const s of [...REQUIRED, ...sets]) args.push('--set', s);
  const r = helm(args);
  assert.equal(r.code, 0, r.err);
  const objects = parseAllDocuments(r.out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
  return { text: r.out, objects };
}

const byKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind);

test('helm lint --strict passes', () => {
  const args = ['lint', '--strict', CHART];
  for (const s of REQUIRED) args.push('--set', s);
  const r = helm(args);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('every rendered object passes the strict schema check, with and without the optional parts', () => {
  for (const sets of [[], ['autoscaling.enabled=true', 'metrics.podMonitor.enabled=true']]) {
    const { text } = render(sets);
    const out = execFileSync(K8S_CHECK, { input: text, encoding: 'utf8' });
    assert.match(out, /^ok apps\/v1\/Deployment rel-egress$/m);
  }
  // The check does catch a misspelt field and a value of the wrong type.
  const { text } = render([]);
  for (const bad of [
    text.replace('terminationGracePeriodSeconds:', 'terminationGracePeriodSecond:'),
    text.replace(/maxUnavailable: 1$/m, 'maxUnavailable: [1]'),
  ]) {
    const r = spawnSync(K8S_CHECK, { input: bad, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout);
    assert.notEqual(r.stderr, '');
  }
});

test('Deployment: one pod per host, an hour to drain, probes on the health port, config from the Secret', () => {
  const { objects } = render([]);
  const [deploy] = byKind(objects, 'Deployment');
  const [secret] = byKind(objects, 'Secret');
  assert.ok(deploy && secret);
  const pod = deploy.spec.template;
  const podLabels = pod.metadata.labels as Record<string, string>;
  assert.deepEqual(deploy.spec.selector.matchLabels, {
    'app.kubernetes.io/name': 'egress',
    'app.kubernetes.io/instance': 'rel',
  });
  assert.equal(deploy.spec.replicas, 2);
  assert.equal(pod.spec.terminationGracePeriodSeconds, 3600);
  assert.equal(pod.spec.automountServiceAccountToken, false);

  const [anti] = pod.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution as Obj[];
  assert.equal(anti!.topologyKey, 'kubernetes.io/hostname');
  for (const [k, v] of Object.entries(anti!.labelSelector.matchLabels as Record<string, string>)) {
    assert.equal(podLabels[k], v, `anti-affinity selects this chart's pods (${k})`);
  }

  const [c] = pod.spec.containers as Obj[];
  const ports = Object.fromEntries((c!.ports as Obj[]).map((p) => [p.name, p.containerPort]));
  assert.deepEqual(ports, { health: 8080, metrics: 9090 });
  assert.deepEqual(c!.livenessProbe.httpGet, { path: '/', port: 'health' });
  assert.deepEqual(c!.readinessProbe.httpGet, { path: '/ready', port: 'health' });
  assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
  assert.equal(pod.metadata.annotations['prometheus.io/port'], '9090');
  assert.ok(c!.resources.requests.cpu && c!.resources.requests.memory && c!.resources.limits.memory);
  assert.equal(c!.resources.limits.cpu, undefined, 'no CPU limit: throttling drops frames');

  // The user of docker/Dockerfile.
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  const dockerUser = /^USER (\d+):(\d+)$/m.exec(readFileSync(path.join(REPO, 'docker/Dockerfile'), 'utf8'));
  assert.equal(pod.spec.securityContext.runAsUser, Number(dockerUser?.[1]));

  const env = (c!.env as Obj[]).find((e) => e.name === 'EGRESS_CONFIG_BODY');
  assert.deepEqual(env?.valueFrom.secretKeyRef, { name: secret.metadata.name, key: 'config.yaml' });
  // The Secret holds a config the service accepts, with the ports the pod exposes and probes.
  const body = secret.stringData['config.yaml'] as string;
  const { config, warnings } = parseConfig(body, {});
  assert.deepEqual(warnings, []);
  assert.equal(config.health_port, ports.health);
  assert.equal(config.prometheus_port, ports.metrics);
  assert.equal(config.redis.address, 'redis:6379');
  assert.equal(config.cpu_cost.web_cpu_cost, 1.5);
});

test('HPA on busy pods (livekit_egress_available through prometheus-adapter) with a CPU fallback; PDB', () => {
  const { objects } = render(['autoscaling.enabled=true', 'metrics.podMonitor.enabled=true']);
  const [deploy] = byKind(objects, 'Deployment');
  const [hpa] = byKind(objects, 'HorizontalPodAutoscaler');
  const [pdb] = byKind(objects, 'PodDisruptionBudget');
  const [monitor] = byKind(objects, 'PodMonitor');
  assert.ok(deploy && hpa && pdb && monitor);
  assert.equal(deploy.spec.replicas, undefined, 'the HPA owns the replica count');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deploy.metadata.name });
  const metrics = hpa.spec.metrics as Obj[];
  const pods = metrics.find((m) => m.type === 'Pods');
  const cpu = metrics.find((m) => m.type === 'Resource');
  assert.equal(pods?.pods.metric.name, 'livekit_egress_busy');
  assert.equal(cpu?.resource.name, 'cpu');
  assert.ok(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds >= 300);

  // prometheus-adapter serves that metric from the service's livekit_egress_available, which metrics.ts exports.
  const adapter = parseYaml(readFileSync(path.join(REPO, 'docker/k8s/prometheus-adapter-values.yaml'), 'utf8')) as Obj;
  const [rule] = adapter.rules.custom as Obj[];
  assert.equal(rule!.name.as, pods?.pods.metric.name);
  assert.match(rule!.seriesQuery, /^livekit_egress_available\{/);
  assert.match(rule!.metricsQuery, /1 - <<\.Series>>/);
  const metricsTs = readFileSync(path.join(REPO, 'packages/supervisor/src/http/metrics.ts'), 'utf8');
  assert.match(metricsTs, /'livekit_egress_available'/);

  assert.equal(pdb.spec.maxUnavailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, deploy.spec.selector.matchLabels);
  assert.deepEqual(monitor.spec.selector.matchLabels, deploy.spec.selector.matchLabels);
  assert.equal(monitor.spec.podMetricsEndpoints[0].port, 'metrics');
});

test('a missing required value fails the render naming it; existingSecret replaces the chart Secret', () => {
  const r = helm(['template', 'rel', CHART, '--kube-version', '1.30.0', '--set', 'config.api_key=k']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /config\.api_secret is required/);

  const args = ['template', 'rel', CHART, '--kube-version', '1.30.0', '--set', 'existingSecret=mine'];
  const own = helm(args);
  assert.equal(own.code, 0, own.err);
  const objects = parseAllDocuments(own.out).map((d) => d.toJS() as Obj);
  assert.equal(byKind(objects, 'Secret').length, 0);
  const [deploy] = byKind(objects, 'Deployment');
  assert.equal(deploy!.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name, 'mine');
});
