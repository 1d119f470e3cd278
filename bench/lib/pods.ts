// The objects the benchmarks write, and the clock they stamp them with.

/** Wall-clock milliseconds with sub-millisecond precision, comparable between writer and watchers. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Optional parts of a benchmark pod. */
export interface PodOptions {
  /**
   * `spec.schedulerName`; a name no scheduler answers to keeps the pod pending without any
   * controller writing to it, so only the API server's own work is measured.
   */
  readonly schedulerName?: string;
}

/**
 * A pod with one container, about 1 KiB of JSON as a client sends it: labels, an env list, ports,
 * resources, a probe and a config volume, like a Deployment's pod.
 */
export function podJson(namespace: string, name: string, i: number, annotations?: Record<string, string>, options: PodOptions = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: { app: `app-${i % 50}`, tier: 'backend', 'pod-template-hash': '7d9f8b6c5d' },
      ...(annotations !== undefined ? { annotations } : {}),
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/team/app:1.4.2',
          imagePullPolicy: 'IfNotPresent',
          args: ['--port=8080', '--log-level=info'],
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'APP_MODE', value: 'production' },
            { name: 'APP_REGION', value: 'edge-eu-west-1' },
            { name: 'APP_CACHE_DIR', value: '/var/cache/app' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
          volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'app-config' } }],
      ...(options.schedulerName !== undefined ? { schedulerName: options.schedulerName } : {}),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      nodeSelector: { 'node-role.kubernetes.io/edge': '' },
      tolerations: [{ key: 'node-role.kubernetes.io/edge', operator: 'Exists', effect: 'NoSchedule' }],
    },
  });
}

export const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
