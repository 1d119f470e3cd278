import type { KedgeExecutable } from '../edge/mappers/spawn.ts';

/**
 * The Node.js options bin/kedge gives `kedge edge` and `kedge mapper` (small young generation, the
 * bytecode interpreter only: memory over peak speed), for `main`: the build runs `--jitless`, the
 * sources cannot (Node's TypeScript stripper is WebAssembly). Mappers started by `kedge up`, whose
 * process runs with the cloud's options, get them too.
 */
export function smallNodeOptions(main: string): string[] {
  return ['--max-semi-space-size=1', main.endsWith('.js') ? '--jitless' : '--no-sparkplug', '--no-opt', '--no-maglev', '--optimize-for-size'];
}

/**
 * The command line this kedge process runs from, for the processes it starts of itself (the edge's
 * mappers): the same Node.js, its options (warnings; {@link smallNodeOptions} added) and the same CLI main
 * module, whether that is `src/cli/main.ts` in a checkout or the build in `dist/`. Debugger options
 * are left out: a second process cannot take the same inspector port. Undefined when there is no
 * main module (code evaluated with `node -e`).
 */
export function kedgeExecutable(argv: readonly string[] = process.argv, execArgv: readonly string[] = process.execArgv, execPath: string = process.execPath): KedgeExecutable | undefined {
  const main = argv[1];
  if (main === undefined || main === '') return undefined;
  const options = execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
  const small = smallNodeOptions(main).filter((o) => !options.some((a) => a.split('=')[0] === o.split('=')[0]));
  return { file: execPath, args: [...options, ...small, main] };
}
