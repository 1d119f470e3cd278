import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One `-----BEGIN <label>-----` block. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** File mode for private keys, tokens and anything else only the owner may read. */
export const SECRET_FILE_MODE = 0o600;
/** File mode for certificates, which are public. */
export const PUBLIC_FILE_MODE = 0o644;

/** Encodes DER as PEM with 64-column base64 lines, the layout OpenSSL and Go write. */
export function encodePem(label: string, der: ArrayBuffer | ArrayBufferView): string {
  const bytes = ArrayBuffer.isView(der) ? Buffer.from(der.buffer, der.byteOffset, der.byteLength) : Buffer.from(der);
  const b64 = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * Every PEM block in `text`, in order; text between blocks (OpenSSL's "Bag Attributes", comments)
 * is ignored. Headers inside a block (RFC 1421 `Proc-Type:`) are not supported: kedge never
 * reads encrypted PEM.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const label = m[1] ?? '';
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    blocks.push({ label, der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

/** The DER of the first block labelled `label`, or undefined when there is none. */
export function firstPemBlock(text: string, label: string): Buffer | undefined {
  return decodePem(text).find((b) => b.label === label)?.der;
}

/**
 * Writes `data` to `path` so that readers see either the old or the new content, never a torn
 * file: a crash while rewriting a key must not leave a half-written key behind. The file is
 * created with `mode` from the start (never briefly world-readable) and replaces `path` by rename.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    // open() masked the mode with the umask; set it exactly so that what is asked for is what lands.
    await fh.chmod(mode);
    await fh.datasync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes a private key (PEM) with mode 0600. */
export async function writeKeyFile(path: string, pem: string): Promise<void> {
  await writeFileAtomic(path, pem, SECRET_FILE_MODE);
}

/** Writes a certificate (PEM); public by default, pass {@link SECRET_FILE_MODE} to keep it private. */
export async function writeCertificateFile(path: string, pem: string, mode: number = PUBLIC_FILE_MODE): Promise<void> {
  await writeFileAtomic(path, pem, mode);
}

/** Reads a PEM file as text, or undefined when it does not exist. Other I/O errors are thrown. */
export async function readPemFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
