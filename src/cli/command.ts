import type { FlagSpec, FlagValue } from './flags.ts';

/** What a command gets to run with. */
export interface CommandContext {
  readonly values: Record<string, FlagValue>;
  readonly positionals: readonly string[];
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** One `kedge <name>` command. `run` resolves with the exit code. */
export interface Command {
  readonly name: string;
  readonly usage: string;
  /** Paragraphs shown under the usage line in --help. */
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  /** Prefix of the environment variables that set flags (`KEDGE_CLOUD` → `KEDGE_CLOUD_API_PORT`). */
  readonly envPrefix: string;
  run(ctx: CommandContext): Promise<number>;
}
