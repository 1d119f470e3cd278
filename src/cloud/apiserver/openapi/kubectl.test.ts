/**
 * The published documents as the real kubectl reads them. A throwaway HTTP server serves legacy
 * discovery, the OpenAPI documents of an {@link OpenApiPublisher} and a trivial object store;
 * kubectl 1.27 and 1.33 then run `explain` (v3, and v2 from the protobuf) and `apply` against it.
 * Skipped when the versioned kubectl binaries are not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { acceptsOpenApiV2Protobuf, OPENAPI_V2_PROTOBUF_CONTENT_TYPE, OpenApiPublisher, type ServedResource } from './publisher.ts';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RESOURCES: ServedResource[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, subresources: ['status'], verbs: VERBS, definition: 'io.k8s.api.core.v1.Pod' },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, subresources: ['status', 'scale'], verbs: VERBS, definition: 'io.k8s.api.apps.v1.Deployment' },
  {
    group: 'stable.example.com',
    version: 'v1',
    kind: 'CronTab',
    plural: 'crontabs',
    namespaced: true,
    subresources: ['status'],
    verbs: VERBS,
    definition: {
      type: 'object',
      properties: { spec: { type: 'object', description: 'What the CronTab runs.', properties: { cronSpec: { type: 'string', description: 'The schedule, in cron format.' }, paused: { type: 'boolean', nullable: true } } } },
    },
  },
];

function findKubectlDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'kubectl');
    if (!existsSync(candidate)) continue;
    const real = dirname(realpathSync(candidate));
    if (existsSync(join(real, 'kubectl.1.27')) && existsSync(join(real, 'kubectl.1.33'))) return real;
  }
  return undefined;
}

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

/** Just enough of an API server for kubectl: legacy discovery, OpenAPI, get/create/patch. */
function fakeApiServer(publisher: OpenApiPublisher, seen: Seen[]): Server {
  const objects = new Map<string, unknown>();
  const json = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const discovery = (path: string): unknown => {
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (path === '/apis') {
      const groups = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })) };
    }
    const gv = /^\/(?:api\/(v1)|apis\/([^/]+\/v1))\/?$/.exec(path);
    if (gv === null) return undefined;
    const groupVersion = gv[1] ?? gv[2]!;
    const resources = RESOURCES.filter((r) => (r.group === '' ? r.version : `${r.group}/${r.version}`) === groupVersion);
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion,
      resources: resources.flatMap((r) => [
        { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: r.verbs },
        ...r.subresources.map((s) => ({ name: `${r.plural}/${s}`, singularName: '', namespaced: r.namespaced, kind: s === 'scale' ? 'Scale' : r.kind, verbs: ['get', 'patch', 'update'] })),
      ]),
    };
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/openapi/v2') {
      const protobuf = acceptsOpenApiV2Protobuf(req.headers.accept);
      res.writeHead(200, { 'Content-Type': protobuf ? OPENAPI_V2_PROTOBUF_CONTENT_TYPE : 'application/json', ETag: `"${publisher.v2ETag()}"` });
      res.end(protobuf ? publisher.v2Protobuf() : publisher.v2Json());
      return;
    }
    if (path === '/openapi/v3') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(publisher.v3Index());
      return;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = publisher.v3GroupVersion(path.slice('/openapi/v3/'.length));
      if (doc === undefined) return json(res, 404, {});
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: `"${doc.hash}"` });
      res.end(doc.body);
      return;
    }
    const doc = discovery(path);
    if (doc !== undefined) return json(res, 200, doc);
    seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
    if (req.method === 'GET') {
      const obj = objects.get(path);
      return obj === undefined ? json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }) : json(res, 200, obj);
    }
    if (req.method === 'POST') {
      const obj = JSON.parse(body) as { metadata: { name: string; namespace?: string } };
      obj.metadata.namespace ??= 'default';
      objects.set(`${path}/${obj.metadata.name}`, obj);
      return json(res, 201, obj);
    }
    if (req.method === 'PATCH') return json(res, 200, objects.get(path));
    json(res, 405, {});
  };
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString()));
  });
}

const kubectlDir = findKubectlDir();

describe('kubectl against the published OpenAPI', () => {
  assert.ok(kubectlDir !== undefined, 'kubectl.1.27 and kubectl.1.33 must be installed beside kubectl (see README)');
  const publisher = new OpenApiPublisher({ version: 'v1.30.0' });
  publisher.update(RESOURCES);
  const seen: Seen[] = [];
  const server = fakeApiServer(publisher, seen);
  let dir = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'kedge-openapi-kubectl-'));
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: c\n`,
    );
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  async function kubectl(version: string, ...args: string[]): Promise<string> {
    const bin = join(kubectlDir!, `kubectl.${version}`);
    const { stdout } = await promisify(execFile)(bin, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, `cache-${version}`), ...args], { timeout: 60_000 });
    return stdout;
  }

  for (const version of ['1.27', '1.33']) {
    it(`kubectl ${version} explains built-in fields from OpenAPI v3`, async () => {
      const out = await kubectl(version, 'explain', 'pods.spec.containers.ports');
      assert.match(out, /FIELD: ports <\[\]ContainerPort>/);
      assert.match(out, /containerPort\t<integer> -required-/);
      assert.match(await kubectl(version, 'explain', 'deployments.spec.strategy.rollingUpdate.maxSurge'), /FIELD: maxSurge <IntOrString>/);
    });

    it(`kubectl ${version} explains from the OpenAPI v2 protobuf`, async () => {
      const out = await kubectl(version, 'explain', 'deployments.spec.template.spec.containers', '--output=plaintext-openapiv2');
      assert.match(out, /RESOURCE: containers <\[\]Object>/);
      assert.match(out, /image\t<string>/);
    });

    it(`kubectl ${version} explains a custom resource`, async () => {
      assert.match(await kubectl(version, 'explain', 'crontabs.spec'), /cronSpec\t<string>\n\s+The schedule, in cron format\./);
      assert.match(await kubectl(version, 'explain', 'crontabs.spec', '--output=plaintext-openapiv2'), /cronSpec\t<string>/);
    });

    it(`kubectl ${version} apply leaves validation to the server and patches built-ins strategically`, async () => {
      seen.length = 0;
      const file = join(dir, `apply-${version}.yaml`);
      const write = (image: string): void =>
        writeFileSync(
          file,
          `apiVersion: v1\nkind: Pod\nmetadata: {name: web-${version.replace('.', '-')}}\nspec:\n  containers:\n  - {name: c, image: ${image}, ports: [{containerPort: 80}]}\n---\n` +
            `apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: ct-${version.replace('.', '-')}}\nspec: {cronSpec: "${image}"}\n`,
        );
      write('nginx');
      await kubectl(version, 'apply', '-f', file);
      write('nginx:2');
      await kubectl(version, 'apply', '-f', file);
      const writes = seen.filter((s) => s.method !== 'GET');
      assert.deepEqual(
        writes.map((s) => `${s.method} ${new URL(s.url, 'http://x').searchParams.get('fieldValidation')} ${s.contentType}`),
        ['POST Strict application/json', 'POST Strict application/json', 'PATCH Strict application/strategic-merge-patch+json', 'PATCH Strict application/merge-patch+json'],
      );
      // The strategic merge patch was computed with the published merge key.
      assert.match(writes[2]!.body, /"\$setElementOrder\/containers":\[\{"name":"c"\}\]/);
    });
  }
});
