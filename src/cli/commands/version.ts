import { KEDGE_VERSION } from '../../cloud/cloud.ts';
import { KUBERNETES_VERSION } from '../../cloud/apiserver/discovery.ts';
import type { Command } from '../command.ts';

export const versionCommand: Command = {
  name: 'version',
  usage: 'kedge version',
  description: 'Prints the kedge version, the Kubernetes API version it serves, and the Node.js it runs on.',
  flags: [],
  envPrefix: 'KEDGE',
  run(ctx) {
    ctx.stdout.write(`kedge ${KEDGE_VERSION} (Kubernetes API ${KUBERNETES_VERSION.gitVersion}, Node.js ${process.version})\n`);
    return Promise.resolve(0);
  },
};
