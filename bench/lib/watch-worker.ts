// Worker-thread entry for the watch fan-out run: options in workerData, progress and the result
// (or the error) as WatchMessage posts.
import { parentPort, workerData } from 'node:worker_threads';
import { watchFanout, type WatchMessage, type WatchOptions } from './watch-fanout.ts';

const port = parentPort!;
const post = (m: WatchMessage): void => port.postMessage(m);

try {
  const run = await watchFanout(workerData as WatchOptions, (watchers, seconds) => post({ type: 'open', watchers, seconds }));
  post({ type: 'done', run });
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
