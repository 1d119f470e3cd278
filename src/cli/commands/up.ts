import { compileCloudConfig, CLOUD_FLAGS } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/cloud.ts';
import { createLogger } from '../../log/logger.ts';
import type { Command } from '../command.ts';
import { waitForAbort } from '../lifecycle.ts';

export const upCommand: Command = {
  name: 'up',
  summary: 'run kedge all-in-one on this machine with embedded defaults',
  usage: 'kedge up [flags]',
  description: [
    'The one-command start: runs the cloud (API server on embedded SQLite) in this process with',
    'its defaults, and prints how to reach it with kubectl. Data lives in --data-dir (~/.kedge).',
  ].join('\n'),
  flags: CLOUD_FLAGS,
  envPrefix: 'KEDGE',
  async run(ctx) {
    const config = compileCloudConfig(ctx.values);
    const log = createLogger(config.logLevel);
    const cloud = await startCloud(config, log.child({ process: 'cloud' }), ctx.signal);
    ctx.stderr.write(
      [
        `kedge is up: Kubernetes API on https://127.0.0.1:${cloud.apiPort}`,
        `  export KUBECONFIG=${cloud.kubeconfigPath}`,
        '  kubectl get namespaces',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await waitForAbort(ctx.signal);
    return 0;
  },
};
