import { compileCloudConfig, CLOUD_FLAGS } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/cloud.ts';
import { createLogger } from '../../log/logger.ts';
import type { Command } from '../command.ts';
import { waitForAbort } from '../lifecycle.ts';

export const cloudCommand: Command = {
  name: 'cloud',
  usage: 'kedge cloud [flags]',
  description: [
    'Runs the cloud half of kedge: a Kubernetes-compatible API server that kubectl and every',
    'Kubernetes client drive unchanged, storing objects in SQLite under --data-dir.',
    '',
    'On first start it creates a CA, a serving certificate (for localhost, 127.0.0.1, the host',
    "name and addresses, and every --tls-san) and an admin credential, and writes",
    '<data-dir>/kubeconfig; later starts reuse them. Use it with:',
    '',
    '  kubectl --kubeconfig <data-dir>/kubeconfig get namespaces',
  ].join('\n'),
  flags: [...CLOUD_FLAGS, { name: 'print-config', type: 'bool', description: 'print the effective configuration as JSON and exit', default: false }],
  envPrefix: 'KEDGE_CLOUD',
  async run(ctx) {
    const config = compileCloudConfig(ctx.values);
    if (ctx.values['print-config'] === true) {
      ctx.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return 0;
    }
    const log = createLogger(config.logLevel);
    const cloud = await startCloud(config, log.child({ process: 'cloud' }), ctx.signal);
    ctx.stderr.write(`kedge cloud is serving on port ${cloud.apiPort} (hub ${cloud.hubPort}, join ${cloud.joinPort})\nkubectl --kubeconfig ${cloud.kubeconfigPath} get namespaces\n`);
    await waitForAbort(ctx.signal);
    return 0;
  },
};
