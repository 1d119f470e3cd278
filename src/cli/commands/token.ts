import { join } from 'node:path';
import { resolveDataDir } from '../../cloud/config.ts';
import { BootstrapTokens, type SecretObject, type TokenInfo } from '../../cloud/join/index.ts';
import { caCertificateDigest } from '../../pki/light.ts';
import type { Command, CommandContext } from '../command.ts';
import { parseDuration } from '../flags.ts';
import { KubeHttpClient, readKubeconfig } from '../kube-http-client.ts';
import { rfc3339 } from '../../api/time.ts';

const USAGE = 'kedge token create [--ttl 24h] [--description TEXT] | kedge token list | kedge token revoke <id>';

/**
 * `kedge token`: join tokens for edge nodes, kept as Secrets in kube-system and managed through
 * the Kubernetes API with the admin kubeconfig (so it works against a remote cloud too).
 */
export const tokenCommand: Command = {
  name: 'token',
  usage: USAGE,
  description: [
    'Join tokens let an edge node join this cloud: `kedge edge join --cloud <host> --token <token>`.',
    'A token is <sha256 of the cluster CA>.<id>.<secret>: the first part lets the edge trust the CA',
    'it downloads; the cloud stores only a hash of the secret, in the Secret',
    'kube-system/bootstrap-token-<id>.',
    '',
    '  create   prints a new token on stdout (valid for --ttl; 0 = never expires)',
    '  list     shows every token: id, time left, expiry, usages, description',
    '  revoke   makes a token unusable at once; joins with it are told it was revoked',
  ].join('\n'),
  flags: [
    { name: 'data-dir', type: 'string', description: 'the cloud data directory whose admin kubeconfig to use', default: '~/.kedge' },
    { name: 'kubeconfig', type: 'string', description: 'kubeconfig to use instead of <data-dir>/kubeconfig' },
    { name: 'ttl', type: 'string', description: 'create: how long the token is valid, e.g. 30m, 24h, 7d; 0 for ever', default: '24h' },
    { name: 'description', type: 'string', description: 'create: a note shown by list' },
  ],
  envPrefix: 'KEDGE_TOKEN',
  async run(ctx) {
    const [sub, ...args] = ctx.positionals;
    if ((sub !== 'create' && sub !== 'list' && sub !== 'revoke') || (sub === 'revoke' ? args.length !== 1 : args.length !== 0)) return usage(ctx, `usage: ${USAGE}`);
    const kubeconfig = typeof ctx.values['kubeconfig'] === 'string' ? ctx.values['kubeconfig'] : join(resolveDataDir(String(ctx.values['data-dir'])), 'kubeconfig');
    const target = await readKubeconfig(kubeconfig);
    const client = new KubeHttpClient(target);
    try {
      const tokens = new BootstrapTokens({ secrets: client.resource<SecretObject>('', 'v1', 'secrets'), caDigest: caCertificateDigest(target.caPem) });
      switch (sub) {
        case 'create':
          return await create(ctx, tokens, target.server);
        case 'list':
          return await list(ctx, tokens);
        case 'revoke':
          return await revoke(ctx, tokens, args[0]!);
      }
    } finally {
      client.close();
    }
  },
};

async function create(ctx: CommandContext, tokens: BootstrapTokens, server: string): Promise<number> {
  const ttlText = String(ctx.values['ttl']);
  const ttlMs = ttlText === '0' ? 0 : parseDuration(ttlText);
  if (ttlMs === undefined || ttlMs < 0) return usage(ctx, `flag --ttl: expected a duration such as 30m, 24h or 7d, or 0, got ${JSON.stringify(ttlText)}`);
  const description = typeof ctx.values['description'] === 'string' ? ctx.values['description'] : undefined;
  const created = await tokens.create({ ttlMs, ...(description !== undefined ? { description } : {}) });
  ctx.stdout.write(`${created.token}\n`);
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  ctx.stderr.write(
    `token ${created.id} ${created.expires === undefined ? 'never expires' : `expires at ${rfc3339(created.expires.getTime())}`}\n` +
      `join an edge node with:\n  kedge edge join --cloud ${host} --token ${created.token}\n`,
  );
  return 0;
}

async function list(ctx: CommandContext, tokens: BootstrapTokens): Promise<number> {
  const now = Date.now();
  const rows = (await tokens.list()).map((t) => [t.id, ttlLeft(t, now), t.expires !== undefined ? rfc3339(t.expires.getTime()) : '<never>', t.usages.join(','), t.description]);
  const header = ['ID', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) ctx.stdout.write(`${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('').trimEnd()}\n`);
  return 0;
}

async function revoke(ctx: CommandContext, tokens: BootstrapTokens, id: string): Promise<number> {
  if (!(await tokens.revoke(id))) {
    ctx.stderr.write(`kedge token revoke: no token ${id}\n`);
    return 1;
  }
  ctx.stdout.write(`token ${id} revoked\n`);
  return 0;
}

function usage(ctx: CommandContext, message: string): number {
  ctx.stderr.write(`kedge token: ${message}\nRun "kedge token --help" for usage.\n`);
  return 2;
}

/** kubeadm's TTL column: time left, `<forever>`, or why the token can no longer be used. */
function ttlLeft(t: TokenInfo, now: number): string {
  if (t.revoked !== undefined) return '<revoked>';
  if (t.expires === undefined) return '<forever>';
  const left = t.expires.getTime() - now;
  if (left <= 0) return '<expired>';
  const minutes = Math.floor(left / 60_000);
  if (minutes < 60) return `${Math.max(minutes, 1)}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}
