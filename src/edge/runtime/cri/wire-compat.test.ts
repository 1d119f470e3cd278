// The codec of protobuf.ts against an independent implementation: protobufjs (which
// @grpc/proto-loader used, with the same options) reading the .proto files the tables copy. Only
// this test loads protobufjs; the edge never does.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { containerdSchema } from './containerd-messages.ts';
import { criSchema } from './cri-messages.ts';
import { decodeMessage, encodeMessage, type MessageType } from './protobuf.ts';
import { normalized, randomValue, rng } from './protobuf-testing.ts';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'proto');
/** The options grpc.ts passed to @grpc/proto-loader before it had its own codec. */
const AS_PROTO_LOADER: protobuf.IConversionOptions = { longs: Number, enums: String, bytes: Buffer, defaults: true, oneofs: true };

function load(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  for (const f of files) root.loadSync(join(PROTO_DIR, f), { keepCase: false });
  root.resolveAll();
  return root;
}

const CRI_ROOT = load(['api.proto']);
const CONTAINERD_ROOT = load(['version', 'content', 'images', 'snapshots', 'diff', 'leases'].map((f) => `containerd/${f}.proto`));

/** Every message and service type under `root`, by full name without the leading dot. */
function reflect(root: protobuf.Root): { messages: Map<string, protobuf.Type>; services: Map<string, protobuf.Service> } {
  const messages = new Map<string, protobuf.Type>();
  const services = new Map<string, protobuf.Service>();
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) messages.set(o.fullName.slice(1), o);
      if (o instanceof protobuf.Service) services.set(o.fullName.slice(1), o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(root);
  return { messages, services };
}

/** What protobufjs makes of bytes, with proto-loader's options. */
function theirDecode(t: protobuf.Type, bytes: Uint8Array): unknown {
  return t.toObject(t.decode(bytes), AS_PROTO_LOADER);
}

function theirEncode(t: protobuf.Type, value: object): Uint8Array {
  return t.encode(t.fromObject(value)).finish();
}

/** Both directions for one value: their bytes decode to the same object with ours, and ours with theirs. */
function agree(mine: MessageType, theirs: protobuf.Type, value: Record<string, unknown>, what: string): void {
  const expected = normalized(mine, value);
  const theirBytes = theirEncode(theirs, value);
  assert.deepEqual(decodeMessage(mine, theirBytes), theirDecode(theirs, theirBytes), `${what}: protobufjs bytes`);
  assert.deepEqual(decodeMessage(mine, theirBytes), expected, `${what}: protobufjs bytes, as encoded`);
  const ourBytes = encodeMessage(mine, value);
  assert.deepEqual(theirDecode(theirs, ourBytes), expected, `${what}: our bytes, read by protobufjs`);
}

for (const [label, schema, root, packages] of [
  ['CRI', criSchema(), CRI_ROOT, ['runtime.v1']],
  ['containerd', containerdSchema(), CONTAINERD_ROOT, ['containerd.', 'google.protobuf.']],
] as const) {
  describe(`${label}: the table and the .proto`, () => {
    const theirs = reflect(root);

    it('declare the same messages, fields (number, type, label) and services', () => {
      const inScope = (name: string): boolean => packages.some((p: string) => name.startsWith(p));
      assert.deepEqual([...schema.messages.keys()].sort(), [...theirs.messages.keys()].filter(inScope).sort());
      for (const m of schema.messages.values()) {
        const t = theirs.messages.get(m.name)!;
        const describeTheirs = t.fieldsArray.map((f) => `${f.name} ${f.id} ${f.map ? 'map' : f.repeated ? 'repeated' : 'single'} ${f.resolvedType?.fullName.slice(1) ?? f.type}`);
        const describeMine = m.fields.map((f) => `${f.name} ${f.number} ${f.label} ${typeof f.type === 'string' ? f.type : f.type.name}`);
        assert.deepEqual(describeMine, describeTheirs, m.name);
        for (const f of t.fieldsArray) if (f.map) assert.equal((f as unknown as protobuf.MapField).keyType, 'string', `${m.name}.${f.name}: only string keys`);
      }
      for (const e of schema.enums.values()) {
        const t = root.lookupEnum(e.name);
        assert.deepEqual(Object.fromEntries(e.numbers), t.values, e.name);
      }
      assert.deepEqual([...schema.services.keys()].sort(), [...theirs.services.keys()].sort());
      for (const s of schema.services.values()) {
        const t = theirs.services.get(s.name)!;
        const describeTheirs = t.methodsArray.map((m) => `${m.name}(${m.requestStream === true ? 'stream ' : ''}${m.resolvedRequestType!.fullName.slice(1)}) ${m.responseStream === true ? 'stream ' : ''}${m.resolvedResponseType!.fullName.slice(1)}`);
        const describeMine = [...s.methods.values()].map((m) => `${m.name}(${m.clientStreaming ? 'stream ' : ''}${m.request.name}) ${m.serverStreaming ? 'stream ' : ''}${m.response.name}`);
        assert.deepEqual(describeMine, describeTheirs, s.name);
      }
    });

    it('encode and decode every message type as protobufjs does (random values, both directions)', () => {
      const r = rng(label.length * 31);
      for (const m of schema.messages.values()) {
        const t = theirs.messages.get(m.name)!;
        agree(m, t, {}, `${m.name} (empty)`);
        for (let i = 0; i < 15; i++) agree(m, t, randomValue(m, r), `${m.name} #${i}`);
      }
    });
  });
}

describe('realistic CRI messages, both ways', () => {
  const mine = (name: string): MessageType => criSchema().messages.get(name)!;
  const theirs = (name: string): protobuf.Type => CRI_ROOT.lookupType(name);
  const both = (name: string, value: Record<string, unknown>): void => agree(mine(name), theirs(name), value, name);

  const sandboxConfig = {
    metadata: { name: 'web-7d9f8b6c5-x2x9z', uid: '2f7c1f0e-5b1a-4e8e-9f43-0c6a3b2d1e0f', namespace: 'default', attempt: 2 },
    hostname: 'web-7d9f8b6c5-x2x9z',
    logDirectory: '/var/lib/kedge/pods/default_web-7d9f8b6c5-x2x9z_2f7c1f0e',
    dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
    portMappings: [
      { protocol: 'TCP', containerPort: 8080, hostPort: 30080, hostIp: '0.0.0.0' },
      { protocol: 'UDP', containerPort: 53, hostPort: 0, hostIp: '' },
    ],
    labels: { 'io.kubernetes.pod.name': 'web-7d9f8b6c5-x2x9z', 'io.kubernetes.pod.namespace': 'default', app: 'web' },
    annotations: { 'kubernetes.io/config.source': 'api', 'kedge.io/checksum': 'sha256:0f3e' },
    linux: {
      cgroupParent: '',
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
      securityContext: {
        namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' },
        runAsUser: { value: 1000 },
        runAsGroup: { value: 0 },
        supplementalGroups: [1000, 2000, 65534],
      },
    },
  };

  it('RunPodSandbox: a sandbox config with labels, annotations, DNS, ports and Linux options', () => {
    both('runtime.v1.RunPodSandboxRequest', { config: sandboxConfig, runtimeHandler: '' });
  });

  it('CreateContainer: a container config with mounts, envs, resources and a security context', () => {
    both('runtime.v1.CreateContainerRequest', {
      podSandboxId: 'a'.repeat(64),
      sandboxConfig,
      config: {
        metadata: { name: 'nginx', attempt: 0 },
        image: { image: 'docker.io/library/nginx:1.27' },
        command: ['/docker-entrypoint.sh'],
        args: ['nginx', '-g', 'daemon off;'],
        workingDir: '/usr/share/nginx/html',
        envs: Array.from({ length: 20 }, (_, i) => ({ key: `VAR_${i}`, value: i % 3 === 0 ? '' : `value ${i} ✓` })),
        mounts: [
          { containerPath: '/etc/config', hostPath: '/var/lib/kedge/volumes/cfg', readonly: true, propagation: 'PROPAGATION_PRIVATE' },
          { containerPath: '/data', hostPath: '/srv/data', readonly: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
        ],
        labels: { 'io.kubernetes.container.name': 'nginx' },
        annotations: { 'io.kubernetes.container.restartCount': '0' },
        logPath: 'nginx/0.log',
        stdin: false,
        stdinOnce: false,
        tty: true,
        linux: {
          resources: { cpuPeriod: 100_000, cpuQuota: 50_000, cpuShares: 512, memoryLimitInBytes: 8 * 1024 ** 3, oomScoreAdj: -997 },
          securityContext: {
            privileged: false,
            namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' },
            runAsUser: { value: 101 },
            readonlyRootfs: true,
            capabilities: { addCapabilities: ['NET_BIND_SERVICE'], dropCapabilities: ['ALL'] },
            noNewPrivs: true,
          },
        },
      },
    });
  });

  const ns = (iso: string, extra: number): number => Date.parse(iso) * 1e6 + extra;
  const status = (i: number) => ({
    id: i.toString(16).padStart(64, 'c'),
    metadata: { name: `c${i}`, attempt: i % 4 },
    state: ['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED', 'CONTAINER_UNKNOWN'][i % 4],
    // Nanoseconds since 1970: about 2^60, far beyond 2^32 (and exact only to the microsecond in a double).
    createdAt: ns('2025-03-01T10:00:00Z', i * 1000),
    startedAt: ns('2025-03-01T10:00:01Z', 0),
    finishedAt: i % 4 === 2 ? ns('2025-03-01T10:05:00Z', 0) : 0,
    exitCode: i % 4 === 2 ? 137 : 0,
    image: { image: 'docker.io/library/busybox:1.36' },
    imageRef: 'sha256:' + 'd'.repeat(64),
    reason: i % 4 === 2 ? 'OOMKilled' : '',
    message: '',
    labels: { 'io.kubernetes.pod.uid': `uid-${i}`, 'io.kubernetes.container.name': `c${i}` },
    annotations: { 'io.kubernetes.container.hash': `${i * 7919}` },
    mounts: [{ containerPath: '/var/run/secrets', hostPath: `/var/lib/kedge/pods/${i}/secrets`, readonly: true }],
    logPath: `/var/log/pods/default_p${i}/c${i}/0.log`,
  });

  it('ContainerStatus: int64 nanosecond timestamps beyond 2^32', () => {
    both('runtime.v1.ContainerStatusResponse', { status: status(2), info: { info: '{"pid":4242}' } });
    const decoded = decodeMessage(mine('runtime.v1.ContainerStatusResponse'), theirEncode(theirs('runtime.v1.ContainerStatusResponse'), { status: status(2) }));
    assert.equal((decoded['status'] as { createdAt: number }).createdAt, status(2).createdAt);
    assert.ok((decoded['status'] as { createdAt: number }).createdAt > 2 ** 32);
  });

  it('list responses with many items', () => {
    const { state: _, ...summary } = status(0);
    void _;
    both('runtime.v1.ListContainersResponse', {
      containers: Array.from({ length: 500 }, (_, i) => ({ ...summary, id: status(i).id, podSandboxId: 'b'.repeat(64), state: status(i).state, createdAt: status(i).createdAt })),
    });
    both('runtime.v1.ListPodSandboxResponse', {
      items: Array.from({ length: 200 }, (_, i) => ({
        id: `${i}`.padStart(64, 'e'),
        metadata: { ...sandboxConfig.metadata, name: `pod-${i}` },
        state: i % 2 === 0 ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
        createdAt: status(i).createdAt,
        labels: sandboxConfig.labels,
        annotations: sandboxConfig.annotations,
        runtimeHandler: '',
      })),
    });
    both('runtime.v1.ListImagesResponse', {
      images: Array.from({ length: 50 }, (_, i) => ({ id: `sha256:${i}`, repoTags: [`img:${i}`], repoDigests: [`img@sha256:${i}`], size: 2 ** 33 + i, uid: { value: 0 }, pinned: i === 0 })),
    });
  });

  it('ExecSync: binary output; Status and Version', () => {
    both('runtime.v1.ExecSyncResponse', { stdout: Buffer.from([0, 255, 10, 13, 128]), stderr: Buffer.from('warning\n'), exitCode: 3 });
    both('runtime.v1.StatusResponse', { status: { conditions: [{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'cni config uninitialized' }] } });
    both('runtime.v1.VersionResponse', { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: '1.6.20~ds1', runtimeApiVersion: 'v1' });
  });

  it("containerd's content write: a 1 MiB chunk", () => {
    const m = containerdSchema().messages.get('containerd.services.v1.WriteContentRequest')!;
    const data = Buffer.alloc(1024 * 1024, 0xab);
    agree(m, CONTAINERD_ROOT.lookupType(m.name), { action: 'WRITE', ref: 'kedge-import-sha256:ab', total: 5 * 2 ** 30, expected: 'sha256:ab', offset: 2 ** 32, data, labels: {} }, m.name);
  });
});
