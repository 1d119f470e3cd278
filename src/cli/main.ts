// The kedge command. Every command is listed here, in the order --help shows them.
import { describeError } from '../errors/platform-error.ts';
import type { Command } from './command.ts';
import { cloudCommand } from './commands/cloud.ts';
import { edgeCommand } from './commands/edge.ts';
import { imageCommand } from './commands/image.ts';
import { mapperCommand } from './commands/mapper.ts';
import { tokenCommand } from './commands/token.ts';
import { upCommand } from './commands/up.ts';
import { versionCommand } from './commands/version.ts';
import { flagsHelp, resolveFlags, UsageError } from './flags.ts';

const COMMANDS: readonly Command[] = [upCommand, cloudCommand, edgeCommand, mapperCommand, imageCommand, tokenCommand, versionCommand];

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
    process.stdout.write(target !== undefined ? commandHelp(target) : mainHelp());
    return 0;
  }
  if (name === '--version') return versionCommand.run({ values: {}, positionals: [], signal: new AbortController().signal, stdout: process.stdout, stderr: process.stderr });
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`kedge: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
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
