import { setDefaultCACertificates } from 'node:tls';
import { compileEdgeConfig, compileJoinConfig, EDGE_FLAGS, JOIN_FLAGS, usesPublicCas } from '../../edge/config.ts';
import { joinEdge, startEdge } from '../../edge/edge.ts';
import { EdgeError } from '../../edge/errors.ts';
import { createLogger } from '../../log/logger.ts';
import type { Command, CommandContext } from '../command.ts';
import { UsageError } from '../flags.ts';
import { kedgeExecutable } from '../self.ts';

const JOIN_ONLY = JOIN_FLAGS.map((f) => f.name);

export const edgeCommand: Command = {
  name: 'edge',
  usage: 'kedge edge join --cloud <host> --token <token> [flags]\n       kedge edge [flags]',
  description: [
    '"kedge edge join" fetches the cloud\'s CA from its join service (--join-port, default 10002) and',
    'trusts it only if it matches the token, gets a node certificate (CN=system:node:<node-name>),',
    'stores everything under --data-dir, then runs the edge. "kedge edge" runs a joined edge again;',
    'it needs no cloud flags, and runs from its local copy of its objects when the cloud is away.',
    '',
    'The edge keeps every object the cloud sent to this node in <data-dir>/edge.db and serves them',
    'read-only on 127.0.0.1 (--metaserver-port):',
    '',
    '  kubectl --server http://127.0.0.1:10550 get pods',
    '',
    'It runs the device mappers its Devices need (--mappers, default auto): one "kedge mapper <protocol>"',
    'child process per protocol in use (modbus, opcua, virtual), restarted with back-off when it exits,',
    'stopped when no device uses it any more and when the edge stops; their log lines join the edge\'s.',
  ].join('\n'),
  flags: [...JOIN_FLAGS, ...EDGE_FLAGS, { name: 'print-config', type: 'bool', description: 'print the effective configuration as JSON and exit', default: false }],
  envPrefix: 'KEDGE_EDGE',
  async run(ctx: CommandContext) {
    const [sub, ...extra] = ctx.positionals;
    if (extra.length > 0 || (sub !== undefined && sub !== 'join')) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0] ?? sub)}; did you mean "kedge edge join"?`);
    const joining = sub === 'join';
    if (!joining) {
      const misplaced = JOIN_ONLY.find((name) => name !== 'join-port' && name !== 'labels' && ctx.values[name] !== undefined);
      if (misplaced !== undefined) throw new UsageError(`--${misplaced} is for "kedge edge join"; a joined edge starts with just "kedge edge --data-dir <dir>"`);
    }
    const config = compileEdgeConfig(ctx.values);
    const join = joining ? compileJoinConfig(ctx.values) : undefined;
    if (ctx.values['print-config'] === true) {
      ctx.stdout.write(`${JSON.stringify({ ...config, ...(join !== undefined ? { join: { ...join, token: '<redacted>' } } : {}) }, null, 2)}\n`);
      return 0;
    }
    // An edge trusts its cluster's CA and nothing else: the connections it makes (join service, hub,
    // stream tunnel) all name that CA, and Node.js would otherwise parse its ~140 bundled public
    // roots into every trust store it builds, even one given an explicit CA: 2 MB of a 70 MB edge.
    // An external broker over TLS may have a public certificate, so that edge keeps them.
    if (!usesPublicCas(config)) setDefaultCACertificates([]);
    const log = createLogger(config.logLevel).child({ process: 'edge' });
    if (join !== undefined) {
      try {
        const state = await joinEdge(config, join, log);
        ctx.stderr.write(`joined the cloud at ${join.cloud} as node ${state.nodeName}; state saved in ${config.dataDir}\n`);
      } catch (err) {
        if (!(err instanceof EdgeError)) throw err;
        ctx.stderr.write(`kedge edge join: ${err.message} [${err.code}]\n`);
        return 1;
      }
    }
    let edge;
    try {
      edge = await startEdge(config, log, ctx.signal, { kedge: kedgeExecutable() });
    } catch (err) {
      if (!(err instanceof EdgeError)) throw err;
      ctx.stderr.write(`kedge edge: ${err.message} [${err.code}]\n`);
      return 1;
    }
    ctx.stderr.write(`kedge edge ${edge.nodeName} is running; MetaServer on http://127.0.0.1:${edge.metaServerPort}\n`);
    try {
      await edge.done;
    } catch (err) {
      if (!(err instanceof EdgeError)) throw err;
      ctx.stderr.write(`kedge edge: ${err.message} [${err.code}]\n`);
      return 1;
    }
    return 0;
  },
};
