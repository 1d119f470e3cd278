import { open, type FileHandle } from 'node:fs/promises';
import { EdgeError } from '../../errors.ts';

/**
 * Just enough of POSIX tar (ustar with PAX and GNU long names) for container images: writing the
 * layers of the images kedge builds itself (the sandbox image, test images) and indexing image
 * archives (`docker save`, OCI layouts) without reading them into memory.
 */

/** One entry to write. Paths are relative (`bin/sh`), directories without a trailing slash. */
export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

/** An entry found by {@link indexTar}: where its content starts in the archive and how long it is. */
export interface IndexedEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  readonly offset: number;
  readonly size: number;
  readonly linkTarget: string;
}

const BLOCK = 512;
/** A fixed time for everything kedge writes, so the same input always yields the same digest. */
const EPOCH = 0;

/**
 * Serialises entries as a tar archive (ending with the two zero blocks). Deterministic: the same
 * entries give the same bytes, hence the same layer digest.
 */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const path = e.type === 'dir' ? `${e.path.replace(/\/+$/, '')}/` : e.path;
    const linkTarget = e.type === 'symlink' ? e.target : '';
    const data = e.type === 'file' ? Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength) : Buffer.alloc(0);
    const pax: Record<string, string> = {};
    const split = splitPath(path);
    if (split === undefined) pax['path'] = path;
    if (Buffer.byteLength(linkTarget) > 100) pax['linkpath'] = linkTarget;
    if (Object.keys(pax).length > 0) {
      const body = paxBody(pax);
      parts.push(header({ name: 'PaxHeader', mode: 0o644, size: body.length, type: 'x', linkTarget: '' }), pad(body));
    }
    const mode = e.type === 'symlink' ? 0o777 : (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
    const type = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
    const names = split ?? { prefix: '', name: path.slice(0, 100) };
    parts.push(header({ name: names.name, prefix: names.prefix, mode, size: data.length, type, linkTarget: linkTarget.slice(0, 100) }));
    if (data.length > 0) parts.push(pad(data));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** `ustar` splits long paths into a prefix (≤155) and a name (≤100) at a slash; undefined if impossible. */
function splitPath(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { prefix, name };
  }
  return undefined;
}

function paxBody(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    // The length prefix counts itself: find the fixed point.
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
    out += `${len}${rest}`;
  }
  return Buffer.from(out);
}

function pad(data: Buffer): Buffer {
  const rem = data.length % BLOCK;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rem)]);
}

function header(h: { name: string; prefix?: string; mode: number; size: number; type: string; linkTarget: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, EPOCH);
  b.write('        ', 148, 8, 'ascii');
  b.write(h.type, 156, 1, 'ascii');
  b.write(h.linkTarget, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'binary');
  b.write('root', 265, 32, 'ascii');
  b.write('root', 297, 32, 'ascii');
  if (h.prefix !== undefined && h.prefix !== '') b.write(h.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  octal(b, 148, 7, sum);
  return b;
}

function octal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/**
 * Lists the entries of a tar file with the offsets of their content, reading only the headers.
 * Later entries of the same path replace earlier ones, as extraction would.
 * @throws {EdgeError} `EDGE_IMAGE_ARCHIVE_INVALID` when a header is corrupt or the file is truncated
 */
export async function indexTar(path: string): Promise<Map<string, IndexedEntry>> {
  const fh = await open(path, 'r');
  try {
    return await indexOpenTar(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

async function indexOpenTar(fh: FileHandle, fileSize: number): Promise<Map<string, IndexedEntry>> {
  const entries = new Map<string, IndexedEntry>();
  const block = Buffer.alloc(BLOCK);
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (pos + BLOCK > fileSize) throw invalid(`the tar archive ends inside a header at byte ${pos}`);
    await readExactly(fh, block, pos);
    if (block.every((x) => x === 0)) return entries;
    if (!checksumOk(block)) throw invalid(`corrupt tar header at byte ${pos}`);
    const size = parseNumber(block.subarray(124, 136));
    const type = String.fromCharCode(block[156]!);
    const dataStart = pos + BLOCK;
    if (dataStart + size > fileSize) throw invalid(`the tar archive is truncated (an entry at byte ${pos} needs ${size} bytes)`);
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      const body = Buffer.alloc(size);
      await readExactly(fh, body, dataStart);
      if (type === 'x') pax = parsePax(body);
      else if (type === 'L') longName = cString(body);
      else if (type === 'K') longLink = cString(body);
      continue;
    }
    const prefix = cString(block.subarray(345, 500));
    const ustar = block.subarray(257, 262).toString('ascii') === 'ustar';
    const rawName = longName ?? pax['path'] ?? (ustar && prefix !== '' ? `${prefix}/${cString(block.subarray(0, 100))}` : cString(block.subarray(0, 100)));
    const linkTarget = longLink ?? pax['linkpath'] ?? cString(block.subarray(157, 257));
    const realSize = pax['size'] !== undefined ? Number(pax['size']) : size;
    const path = normalizeEntryPath(rawName);
    const kind: IndexedEntry['type'] = type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'dir' : type === '2' ? 'symlink' : type === '1' ? 'hardlink' : 'other';
    if (path !== '') entries.set(path, { path, type: kind, offset: dataStart, size: realSize, linkTarget });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
}

/** `./a//b/` → `a/b`. */
export function normalizeEntryPath(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

async function readExactly(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw invalid(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

function checksumOk(b: Buffer): boolean {
  const stored = parseNumber(b.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === stored;
}

function parseNumber(field: Buffer): number {
  // GNU base-256 for sizes of 8 GiB and more.
  if ((field[0]! & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(body.subarray(i, space).toString('ascii'));
    if (!Number.isFinite(len) || len <= 0) break;
    const record = body.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

function invalid(message: string): EdgeError {
  return new EdgeError('EDGE_IMAGE_ARCHIVE_INVALID', message);
}
