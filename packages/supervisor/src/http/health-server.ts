import http from 'node:http';

export interface HealthSource {
  status(): object;
  readonly isDraining: boolean;
}

/**
 * Health on health_port: `/` (and `/health`) always answer 200 with the node's JSON status, as upstream's
 * probes expect; `/ready` answers 503 while draining so Kubernetes stops routing to a pod on its way out.
 */
export function startHealthServer(port: number, source: HealthSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const notReady = url.startsWith('/ready') && source.isDraining;
    res.writeHead(notReady ? 503 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(source.status()));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Bound to all interfaces: kubelet probes come from the pod IP, not loopback.
    server.listen(port, () => resolve(server));
  });
}
