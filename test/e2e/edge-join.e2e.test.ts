// Issue 3, joining: `kedge edge join` with a valid token makes a Ready edge node; every kind of bad
// token, a CA that does not match the token and a node name held by another certificate are refused
// with a message that says which, and leave the data dir unjoined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './harness/wait.ts';
import { createToken, KedgeEdge, runKedge, useEdgeCloud, type EdgeCloud } from './harness/edge.ts';

const c = await useEdgeCloud();

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[]; nodeInfo?: { kubeletVersion?: string; osImage?: string }; capacity?: Record<string, string>; addresses?: { type: string }[] };
}

/** Runs `kedge edge join` expected to be refused; returns its stderr. */
async function refusedJoin(cloud: EdgeCloud, token: string, nodeName: string): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kedge-e2e-refused-'));
  try {
    const r = await runKedge(['edge', 'join', '--cloud', '127.0.0.1', '--join-port', String(cloud.joinPort), '--token', token, '--node-name', nodeName, '--data-dir', dataDir, '--metaserver-port', '0'], { HOME: dataDir });
    assert.equal(r.code, 1, `kedge edge join should fail; stderr:\n${r.stderr}`);
    assert.equal(existsSync(join(dataDir, 'edge.json')), false, 'a refused join leaves the data dir unjoined');
    return r.stderr;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('E2E_EDGE_JOIN_1: a valid token joins the node, which appears Ready with its labels in kubectl get nodes', async () => {
  const edge = await KedgeEdge.join(c, { nodeName: 'join-ok', token: await createToken(c), labels: ['zone=plant-7', 'tier=edge'] });
  const node = await eventually(
    async () => {
      const n = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'node', edge.nodeName, '-o', 'json'])) as NodeJson;
      assert.equal(n.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True');
      return n;
    },
    { timeoutMs: 15_000, what: 'the node to be Ready' },
  );
  assert.equal(node.metadata.labels?.['node-role.kubernetes.io/edge'], '');
  assert.equal(node.metadata.labels?.['zone'], 'plant-7');
  assert.equal(node.metadata.labels?.['tier'], 'edge');
  assert.match(node.status?.nodeInfo?.kubeletVersion ?? '', /^v\d+\.\d+\.\d+/);
  assert.ok(Number(node.status?.capacity?.['cpu']) >= 1);
  assert.deepEqual(
    node.status?.addresses?.map((a) => a.type),
    ['InternalIP', 'Hostname'],
  );
  const table = await c.cloud.kubectlOk('1.27', ['get', 'nodes', edge.nodeName]);
  assert.match(table, new RegExp(`^${edge.nodeName}\\s+Ready\\s+edge\\s+`, 'm'));
  // The heartbeat is a Lease renewed by the edge.
  const lease = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'lease', '-n', 'kube-node-lease', edge.nodeName, '-o', 'json'])) as { spec: { holderIdentity: string; renewTime: string } };
  assert.equal(lease.spec.holderIdentity, edge.nodeName);
});

test('E2E_EDGE_JOIN_2: bad tokens are refused, each with its own reason', async () => {
  const good = await createToken(c);
  const [digest] = good.split('.');

  assert.match(await refusedJoin(c, 'not-a-token', 'refused-a'), /JOIN_TOKEN_MALFORMED/);
  assert.match(await refusedJoin(c, `${digest!}.zzzzzz.0123456789abcdef`, 'refused-b'), /JOIN_TOKEN_INVALID/);

  const expiring = await createToken(c, '1s');
  await new Promise((r) => setTimeout(r, 2100));
  assert.match(await refusedJoin(c, expiring, 'refused-c'), /JOIN_TOKEN_EXPIRED/);

  const revoked = await createToken(c);
  const revoke = await runKedge(['token', 'revoke', revoked.split('.')[1]!, '--data-dir', c.cloud.dataDir], { HOME: c.cloud.dataDir });
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.match(await refusedJoin(c, revoked, 'refused-d'), /JOIN_TOKEN_REVOKED/);
});

test('E2E_EDGE_JOIN_3: a CA that does not match the token is refused before anything is sent', async () => {
  const good = await createToken(c);
  const [, id, secret] = good.split('.');
  // A token made for another cloud: its digest names another CA.
  const stderr = await refusedJoin(c, `${'ab'.repeat(32)}.${id!}.${secret!}`, 'refused-e');
  assert.match(stderr, /JOIN_CA_MISMATCH/);
  assert.match(stderr, /does not match the token/);
});

test('E2E_EDGE_JOIN_4: a node name held by another certificate is refused', async () => {
  const token = await createToken(c);
  await KedgeEdge.join(c, { nodeName: 'join-taken', token });
  assert.match(await refusedJoin(c, token, 'join-taken'), /JOIN_NODE_NAME_TAKEN/);
});

test('E2E_EDGE_JOIN_5: "kedge edge" needs a joined data dir, and a joined one is not joined twice', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'kedge-e2e-empty-'));
  try {
    const r = await runKedge(['edge', '--data-dir', empty, '--metaserver-port', '0'], { HOME: empty });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EDGE_NOT_JOINED/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
  const token = await createToken(c);
  const edge = await KedgeEdge.join(c, { nodeName: 'join-twice', token });
  await edge.stop();
  const again = await runKedge(['edge', 'join', '--cloud', '127.0.0.1', '--join-port', String(c.joinPort), '--token', token, '--node-name', 'join-twice', '--data-dir', edge.dataDir], { HOME: edge.dataDir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /EDGE_ALREADY_JOINED/);
  // ...and started again without cloud flags, it comes back in sync.
  const before = edge.syncs.length;
  edge.start();
  await edge.waitForSync(before);
});
