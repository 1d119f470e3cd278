// The kedge command. Every command is listed here, in the order --help shows them.
import { describeError } from '../errors/platform-error.ts';
import type { Command } from './command.ts';
import { flagsHelp, resolveFlags, UsageError } from './flags.ts';

/** A command, loaded only when it runs: an edge or a mapper process never loads the cloud's code. */
interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

const COMMANDS: readonly CommandEntry[] = [
  { name: 'up', summary: 'run kedge all-in-one on this machine with embedded defaults', load: async () => (await import('./commands/up.ts')).upCommand },
  { name: 'cloud', summary: 'run the cloud: Kubernetes API server on embedded SQLite', load: async () => (await import('./commands/cloud.ts')).cloudCommand },
  { name: 'edge', summary: 'join this machine to a cloud as an edge node, or run the edge node', load: async () => (await import('./commands/edge.ts')).edgeCommand },
  { name: 'mapper', summary: 'run a device mapper (modbus, opcua, virtual) for an edge node', load: async () => (await import('./commands/mapper.ts')).mapperCommand },
  { name: 'image', summary: 'load image archives into an edge node\'s container runtime', load: async () => (await import('./commands/image.ts')).imageCommand },
  { name: 'token', summary: 'create, list and revoke join tokens for edge nodes', load: async () => (await import('./commands/token.ts')).tokenCommand },
  { name: 'version', summary: 'print the kedge version', load: async () => (await import('./commands/version.ts')).versionCommand },
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    'kedge: a Kubernetes-native cloud-edge platform.',
    '',
    'Usage: kedge <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run "kedge <command> --help" for a command\'s flags.',
    '',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.description}\n\nFlags:\n${flagsHelp(c.flags, c.envPrefix)}\n`;
}

// A closed stdout or stderr (`kedge cloud 2>&1 | head`) must not take a running server down.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(target !== undefined ? commandHelp(await target.load()) : mainHelp());
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === (name === '--version' ? 'version' : name));
  if (entry === undefined) {
    process.stderr.write(`kedge: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  const command = await entry.load();
  if (name === '--version') return command.run({ values: {}, positionals: [], signal: new AbortController().signal, stdout: process.stdout, stderr: process.stderr });
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  let parsed;
  try {
    parsed = resolveFlags(command.flags, rest, process.env, command.envPrefix);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kedge ${command.name}: ${err.message}\nRun "kedge ${command.name} --help" for usage.\n`);
      return 2;
    }
    throw err;
  }
  const abort = new AbortController();
  const stop = (sig: string): void => {
    if (abort.signal.aborted) {
      process.stderr.write(`kedge: ${sig} again, exiting now\n`);
      process.exit(130);
    }
    abort.abort();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return command.run({ values: parsed.values, positionals: parsed.positionals, signal: abort.signal, stdout: process.stdout, stderr: process.stderr });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kedge: ${describeError(err)}\n`);
    if (process.env['KEDGE_DEBUG'] !== undefined && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    // A command that failed while starting may have left servers or timers running: exit for sure.
    process.exit(1);
  },
);
