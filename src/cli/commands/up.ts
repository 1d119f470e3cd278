import { compileCloudConfig, CLOUD_FLAGS } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/cloud.ts';
import { compileEdgeConfig, EDGE_FLAGS, JOIN_FLAGS, nodeNameOf } from '../../edge/config.ts';
import { joinLocalEdge, startEdge } from '../../edge/edge.ts';
import { createLogger } from '../../log/logger.ts';
import type { Command } from '../command.ts';
import { waitForAbort } from '../lifecycle.ts';
import { kedgeExecutable } from '../self.ts';

export const upCommand: Command = {
  name: 'up',
  usage: 'kedge up [flags]',
  description: [
    'The one-command start: runs the cloud (API server on embedded SQLite) in this process with',
    'its defaults, joins this machine to it as an edge node (--node-name, default the host name),',
    'and prints how to reach it with kubectl. Data lives in --data-dir (~/.kedge). The edge node runs',
    'the device mappers its Devices need (--mappers, as for "kedge edge").',
  ].join('\n'),
  flags: [...CLOUD_FLAGS, ...JOIN_FLAGS.filter((f) => f.name === 'node-name'), ...EDGE_FLAGS.filter((f) => f.name === 'metaserver-port' || f.name === 'mappers')],
  envPrefix: 'KEDGE',
  async run(ctx) {
    const config = compileCloudConfig(ctx.values);
    const log = createLogger(config.logLevel);
    const cloud = await startCloud(config, log.child({ process: 'cloud' }), ctx.signal);
    // The local edge node: joined to this cloud on the first run, started as it is on later ones.
    const edgeConfig = compileEdgeConfig({ 'data-dir': config.dataDir, 'log-level': config.logLevel, 'metaserver-port': ctx.values['metaserver-port'] ?? 10550, ...(ctx.values['mappers'] !== undefined ? { mappers: ctx.values['mappers'] } : {}) });
    const edgeLog = log.child({ process: 'edge' });
    const token = async (): Promise<string> => (await cloud.createJoinToken({ ttlMs: 10 * 60_000, description: 'kedge up: the local edge node' })).token;
    const local = config.bindAddress === '0.0.0.0' || config.bindAddress === '::' ? '127.0.0.1' : config.bindAddress;
    await joinLocalEdge(edgeConfig, { cloud: local, joinPort: cloud.joinPort, nodeName: nodeNameOf(ctx.values), labels: {} }, token, edgeLog);
    const edge = await startEdge(edgeConfig, edgeLog, ctx.signal, { kedge: kedgeExecutable() });
    ctx.stderr.write(
      [
        `kedge is up: Kubernetes API on https://127.0.0.1:${cloud.apiPort}, edge node ${edge.nodeName} (MetaServer on http://127.0.0.1:${edge.metaServerPort})`,
        `  export KUBECONFIG=${cloud.kubeconfigPath}`,
        '  kubectl get nodes',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await waitForAbort(ctx.signal);
    await edge.done.catch(() => undefined);
    return 0;
  },
};
