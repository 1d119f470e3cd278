/**
 * The e2e harness: real `kedge cloud` processes on free ports with temporary data dirs, real
 * kubectl binaries of several versions, raw HTTPS requests and watches, and log dumps on failure.
 */
import { after, afterEach, type TestContext } from 'node:test';
import { KedgeCloud, type CloudStartOptions } from './cloud.ts';

export { KedgeCloud, freePort, REPO_ROOT, type CloudStartOptions } from './cloud.ts';
export { apiRequest, openWatch, readKubeconfig, type ApiResponse, type ClientIdentity, type RawWatch, type WatchEvent } from './https.ts';
export { kubectl, kubectlPath, spawnKubectl, KUBECTL_VERSIONS, type KubectlResult, type KubectlStream, type KubectlVersion } from './kubectl.ts';
export { eventually } from './wait.ts';
export { parseTable, type Table } from './table.ts';
export { configMapManifest, getJson, names, namespaceFor, namespaceManifest } from './objects.ts';

/** How much of the server log a failing test prints. */
const LOG_TAIL_LINES = 300;

/** The last lines of a server's log, for a failure report. */
export function logTail(cloud: KedgeCloud, lines = LOG_TAIL_LINES): string {
  const all = cloud.log.split('\n');
  const tail = all.slice(-lines).join('\n');
  return all.length > lines ? `(last ${lines} of ${all.length} lines)\n${tail}` : tail;
}

/**
 * Starts the one `kedge cloud` a test file shares (call it with top-level await), stops it and
 * removes its data dir after the file's tests, and prints the server's log after any test that
 * failed on its own account.
 */
export async function useCloud(options: CloudStartOptions = {}): Promise<KedgeCloud> {
  const cloud = await KedgeCloud.start(options);
  after(() => cloud.dispose());
  afterEach((ctx) => {
    // Node 24's TestContext carries `passed` and `error`; @types/node does not declare them yet.
    const t = ctx as TestContext & { passed?: boolean; error?: unknown };
    if (t.passed !== false) return;
    // A parent that failed only because a subtest failed has nothing new to show.
    const failure = t.error as { failureType?: string } | null;
    if (failure?.failureType === 'subtestsFailed') return;
    console.error(`\n===== kedge cloud log for failed test "${t.fullName}" =====\n${logTail(cloud)}\n===== end of log =====`);
  });
  return cloud;
}
