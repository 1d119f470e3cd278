import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isJsonObject } from '../../api/object.ts';
import { decodePem, encodePem, inspectCertificate, keyMatchesCertificate, parseNodeCertificate, verifyCertificate, writeCertificateFile, writeFileAtomic, SECRET_FILE_MODE } from '../../pki/light.ts';
import { EdgeError } from '../errors.ts';
import type { HubCredentials } from '../hub/rotation.ts';
import type { HubAddress, NodeTls } from '../hub/transport.ts';

/**
 * What `kedge edge join` leaves in the data dir so that `kedge edge --data-dir D` starts again with
 * no cloud flags: `<D>/edge.json` (this), `<D>/edge-pki/ca.crt` (the pinned cluster CA) and
 * `<D>/edge-pki/node.pem` (the node certificate and its key in one file, so a crash while rotating
 * can never leave a certificate next to the wrong key).
 */
export interface EdgeNodeState {
  readonly apiVersion: 'kedge.io/v1alpha1';
  readonly kind: 'EdgeNode';
  readonly nodeName: string;
  /** The host given to `--cloud`. */
  readonly cloud: string;
  readonly joinPort: number;
  /** Where the hub is, as the join service said. */
  readonly hub: HubAddress;
  /** User labels (`--labels`), registered on the Node. */
  readonly labels: Readonly<Record<string, string>>;
  /** RFC 3339. */
  readonly joinedAt: string;
}

/** The files of a joined edge under its data dir. */
export function statePaths(dataDir: string): { state: string; pkiDir: string; ca: string; node: string } {
  const pkiDir = join(dataDir, 'edge-pki');
  return { state: join(dataDir, 'edge.json'), pkiDir, ca: join(pkiDir, 'ca.crt'), node: join(pkiDir, 'node.pem') };
}

/**
 * Writes a freshly joined node's state: certificates first, edge.json last, so a data dir with an
 * edge.json always has its certificates.
 */
export async function saveJoinedState(dataDir: string, state: EdgeNodeState, tls: NodeTls): Promise<void> {
  const p = statePaths(dataDir);
  await mkdir(p.pkiDir, { recursive: true, mode: 0o700 });
  await writeCertificateFile(p.ca, tls.ca);
  await writeFileAtomic(p.node, bundle(tls.cert, tls.key), SECRET_FILE_MODE);
  await writeFileAtomic(p.state, `${JSON.stringify(state, null, 2)}\n`, 0o644);
}

/**
 * Reads the state of a joined edge.
 * @returns undefined when the data dir was never joined (no edge.json)
 * @throws {EdgeError} `EDGE_STATE_INVALID` when edge.json or the certificates are unreadable or do not belong together
 */
export async function loadJoinedState(dataDir: string): Promise<{ state: EdgeNodeState; credentials: NodeCredentials } | undefined> {
  const p = statePaths(dataDir);
  let text: string;
  try {
    text = await readFile(p.state, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EdgeError('EDGE_STATE_INVALID', `cannot read ${p.state}`, { cause: err });
  }
  const state = parseState(text, p.state);
  let ca: string;
  let nodePem: string;
  try {
    [ca, nodePem] = await Promise.all([readFile(p.ca, 'utf8'), readFile(p.node, 'utf8')]);
  } catch (err) {
    throw new EdgeError('EDGE_STATE_INVALID', `${p.state} names node ${state.nodeName}, but its certificates under ${p.pkiDir} cannot be read`, { cause: err });
  }
  const blocks = decodePem(nodePem);
  const certBlock = blocks.find((b) => b.label === 'CERTIFICATE');
  const keyBlock = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
  if (certBlock === undefined || keyBlock === undefined) throw new EdgeError('EDGE_STATE_INVALID', `${p.node} must hold the node certificate and its private key`);
  const tls: NodeTls = { ca, cert: encodePem('CERTIFICATE', certBlock.der), key: encodePem(keyBlock.label, keyBlock.der) };
  checkTls(tls, state.nodeName, p.node);
  return { state, credentials: new NodeCredentials(p.node, tls) };
}

/**
 * The node's TLS material in memory, backed by `<D>/edge-pki/node.pem`: what EdgeHub presents,
 * and what certificate rotation replaces (on disk first, atomically, then in memory).
 */
export class NodeCredentials implements HubCredentials {
  readonly #path: string;
  #tls: NodeTls;

  constructor(path: string, tls: NodeTls) {
    this.#path = path;
    this.#tls = tls;
  }

  current(): NodeTls {
    return this.#tls;
  }

  async replace(certPem: string, keyPem: string): Promise<void> {
    await writeFileAtomic(this.#path, bundle(certPem, keyPem), SECRET_FILE_MODE);
    this.#tls = { ca: this.#tls.ca, cert: certPem, key: keyPem };
  }
}

/**
 * Checks that the certificate is the node's, issued by the pinned CA, and that the key is its own.
 * An expired certificate is reported, not refused here: the hub will refuse it, and the message
 * tells the operator to join again.
 */
function checkTls(tls: NodeTls, nodeName: string, path: string): void {
  if (!keyMatchesCertificate(tls.cert, tls.key)) throw new EdgeError('EDGE_STATE_INVALID', `${path}: the private key does not belong to the certificate`);
  let info;
  try {
    info = inspectCertificate(tls.cert);
    verifyCertificate(parseNodeCertificate(tls.ca), tls.cert, { usage: 'client auth', now: info.notBefore });
  } catch (err) {
    throw new EdgeError('EDGE_STATE_INVALID', `${path}: the node certificate was not issued by the CA in ca.crt`, { cause: err });
  }
  if (info.commonName !== `system:node:${nodeName}`) throw new EdgeError('EDGE_STATE_INVALID', `${path}: the certificate is for ${info.commonName}, not system:node:${nodeName}`);
}

function bundle(certPem: string, keyPem: string): string {
  return `${certPem.trimEnd()}\n${keyPem.trimEnd()}\n`;
}

function parseState(text: string, path: string): EdgeNodeState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new EdgeError('EDGE_STATE_INVALID', `${path} is not JSON`, { cause: err });
  }
  const bad = (what: string): never => {
    throw new EdgeError('EDGE_STATE_INVALID', `${path}: ${what}`);
  };
  if (!isJsonObject(v) || v['kind'] !== 'EdgeNode') return bad('not an EdgeNode state file');
  const hub = v['hub'];
  if (!isJsonObject(hub) || typeof hub['host'] !== 'string' || typeof hub['port'] !== 'number') return bad('hub must have a host and a port');
  const labels = v['labels'] ?? {};
  if (!isJsonObject(labels) || !Object.values(labels).every((l) => typeof l === 'string')) return bad('labels must map strings to strings');
  for (const k of ['nodeName', 'cloud', 'joinedAt'] as const) if (typeof v[k] !== 'string' || v[k] === '') bad(`${k} must be a non-empty string`);
  if (typeof v['joinPort'] !== 'number') bad('joinPort must be a number');
  return {
    apiVersion: 'kedge.io/v1alpha1',
    kind: 'EdgeNode',
    nodeName: v['nodeName'] as string,
    cloud: v['cloud'] as string,
    joinPort: v['joinPort'] as number,
    hub: { host: hub['host'], port: hub['port'] },
    labels: labels as Record<string, string>,
    joinedAt: v['joinedAt'] as string,
  };
}
