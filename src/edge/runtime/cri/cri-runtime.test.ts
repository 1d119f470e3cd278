import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestContainerd } from '../../containerd/testing.ts';
import { runRuntimeConformance } from '../conformance.ts';
import { buildImageArchive, busyboxRootfs } from '../image/build.ts';
import { CriRuntime } from './cri-runtime.ts';
import { importImageArchive } from './image-import.ts';

const IMAGE = 'kedge.local/conformance-busybox:1';

runRuntimeConformance('cri (containerd)', async () => {
  const ctd = await startTestContainerd();
  const file = join(ctd.dir, 'busybox.tar');
  await writeFile(file, buildImageArchive({ name: IMAGE, layers: [busyboxRootfs()], format: 'docker' }));
  await importImageArchive({ endpoint: ctd.endpoint, file });
  const runtime = new CriRuntime({ endpoint: ctd.endpoint });
  return {
    runtime,
    image: IMAGE,
    dispose: async () => {
      runtime.close();
      await ctd.dispose();
    },
  };
});
