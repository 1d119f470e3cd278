import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestContainerd } from '../../edge/containerd/testing.ts';
import { CriRuntime } from '../../edge/runtime/cri/cri-runtime.ts';
import { buildImageArchive, busyboxRootfs } from '../../edge/runtime/image/build.ts';
import { imageCommand } from './image.ts';

async function runImport(dataDir: string, file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const code = await imageCommand.run({
    values: { 'data-dir': dataDir, 'container-runtime-endpoint': `unix://${join(dataDir, 'not-this.sock')}` },
    positionals: ['import', file],
    signal: new AbortController().signal,
    stdout,
    stderr,
  });
  return { code, stdout: out, stderr: err };
}

test('image import into an edge whose managed containerd is still starting waits for it, and never falls back to another runtime', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kedge-image-cli-'));
  try {
    const file = join(dataDir, 'busybox.tar');
    await writeFile(file, buildImageArchive({ name: 'kedge.local/cli-import:1', layers: [busyboxRootfs()], format: 'docker' }));
    // The edge has written its containerd's config, and containerd is not up yet.
    await mkdir(join(dataDir, 'containerd'), { recursive: true });
    await writeFile(join(dataDir, 'containerd', 'config.toml'), '');
    const importing = runImport(dataDir, file);
    await delay(500);
    const ctd = await startTestContainerd({ dir: dataDir });
    try {
      const r = await importing;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^imported kedge\.local\/cli-import:1 \(sha256:[0-9a-f]{64}\)\n$/);
      const rt = new CriRuntime({ endpoint: ctd.endpoint });
      try {
        assert.notEqual(await rt.imageStatus('kedge.local/cli-import:1'), undefined, 'the image is in the edge\'s containerd');
      } finally {
        rt.close();
      }
    } finally {
      await ctd.dispose();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
