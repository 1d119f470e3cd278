import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../../errors/platform-error.ts';
import { chainIdsOf } from '../cri/image-import.ts';
import { readImageArchive, resolvePlatformImage } from './archive.ts';
import { buildImageArchive } from './build.ts';
import { normalizeImageRef } from './reference.ts';
import { indexTar, writeTar } from './tar.ts';

test('image references normalize as the CRI normalizes them', () => {
  const cases: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['user/app:v1', 'docker.io/user/app:v1'],
    ['kedge.local/app:1', 'kedge.local/app:1'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
  ];
  for (const [input, want] of cases) assert.equal(normalizeImageRef(input), want, input);
});

test('tar: what writeTar writes, indexTar finds, long names and links included; GNU tar agrees', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-tar-'));
  try {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const longer = 'x'.repeat(300);
    const file = join(dir, 'a.tar');
    writeFileSync(
      file,
      writeTar([
        { type: 'dir', path: 'bin' },
        { type: 'file', path: 'bin/tool', data: Buffer.from('hello'), mode: 0o755 },
        { type: 'symlink', path: 'bin/alias', target: 'tool' },
        { type: 'file', path: long, data: Buffer.alloc(1000, 1) },
        { type: 'file', path: longer, data: Buffer.from('pax') },
      ]),
    );
    const entries = await indexTar(file);
    assert.deepEqual([...entries.keys()], ['bin', 'bin/tool', 'bin/alias', long, longer]);
    assert.equal(entries.get('bin/tool')!.size, 5);
    assert.equal(entries.get('bin/alias')!.linkTarget, 'tool');
    assert.equal(entries.get(long)!.size, 1000);
    const listed = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
    assert.match(listed, /bin\/alias -> tool/);
    assert.ok(listed.includes(longer));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image archives: an OCI layout and a docker-archive built by kedge read back to the same image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-archive-'));
  try {
    const layers = [[{ type: 'file' as const, path: 'a', data: Buffer.from('1') }], [{ type: 'file' as const, path: 'b', data: Buffer.from('2') }]];
    const ids: string[] = [];
    for (const format of ['oci', 'docker'] as const) {
      const file = join(dir, `${format}.tar`);
      writeFileSync(file, buildImageArchive({ name: 'busybox:1.36', layers, config: { Cmd: ['sh'] }, format }));
      const archive = await readImageArchive(file);
      assert.equal(archive.format, format);
      assert.deepEqual(
        archive.images.map((i) => i.name),
        ['docker.io/library/busybox:1.36'],
      );
      const image = await resolvePlatformImage(archive, archive.images[0]!.target);
      assert.equal(image.layers.length, 2);
      assert.deepEqual(
        image.layers.map((l) => l.digest),
        image.diffIds,
        'uncompressed layers: digest = diff id',
      );
      for (const l of image.layers) assert.ok(archive.blob(l.digest), 'every layer is in the archive');
      ids.push(...image.diffIds);
    }
    assert.deepEqual(ids.slice(0, 2), ids.slice(2), 'the same layers either way');
    const chain = chainIdsOf(ids.slice(0, 2));
    assert.equal(chain[0], ids[0]);
    assert.match(chain[1]!, /^sha256:[a-f0-9]{64}$/);

    writeFileSync(join(dir, 'junk.tar'), writeTar([{ type: 'file', path: 'hello', data: Buffer.from('x') }]));
    await assert.rejects(readImageArchive(join(dir, 'junk.tar')), (e) => hasCode(e, 'EDGE_IMAGE_ARCHIVE_INVALID'));
    writeFileSync(join(dir, 'truncated.tar'), buildImageArchive({ name: 'x/y:1', layers }).subarray(0, 1500));
    await assert.rejects(readImageArchive(join(dir, 'truncated.tar')), (e) => hasCode(e, 'EDGE_IMAGE_ARCHIVE_INVALID'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
