import type { KedgeExecutable } from '../edge/mappers/spawn.ts';

/**
 * The command line this kedge process runs from, for the processes it starts of itself (the edge's
 * mappers): the same Node.js, its options (`--max-semi-space-size`, warnings) and the same CLI main
 * module, whether that is `src/cli/main.ts` in a checkout or the build in `dist/`. Debugger options
 * are left out: a second process cannot take the same inspector port. Undefined when there is no
 * main module (code evaluated with `node -e`).
 */
export function kedgeExecutable(argv: readonly string[] = process.argv, execArgv: readonly string[] = process.execArgv, execPath: string = process.execPath): KedgeExecutable | undefined {
  const main = argv[1];
  if (main === undefined || main === '') return undefined;
  return { file: execPath, args: [...execArgv.filter((a) => !/^--(inspect|debug)/.test(a)), main] };
}
