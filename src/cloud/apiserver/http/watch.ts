import { once } from 'node:events';
import type { KubeObject } from '../../../api/object.ts';
import type { CachedObject, CacheEventType } from '../../../store/cacher.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import { WatchTerminatedError } from '../../../store/errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
import { parseResourceVersion } from '../storage/rest-storage.ts';
import { negotiate } from './negotiation.ts';
import { selectionFilter } from './selection.ts';
import { objectAsTable } from './tables.ts';
import type { ResourceRequest } from './resource-handler.ts';

/** Kubernetes ends watches after a random 30–60 minutes so clients spread their re-watches. */
const MIN_WATCH_SECONDS = 1800;
/** A bookmark at least this often on an idle watch, so a client can resume close to now. */
const BOOKMARK_INTERVAL_MS = 60_000;

type Encoded = Partial<Record<CacheEventType, string>>;
/** Each event is encoded once and the line shared by every watcher that receives it. */
const encodedLines = new WeakMap<CachedObject, Encoded>();

function eventLine(type: CacheEventType, obj: CachedObject, storage: RestStorage): string {
  let e = encodedLines.get(obj);
  if (e === undefined) {
    e = {};
    encodedLines.set(obj, e);
  }
  let line = e[type];
  if (line === undefined) {
    line = `{"type":"${type}","object":${storage.servedJson(obj)}}\n`;
    e[type] = line;
  }
  return line;
}

/**
 * Streams a watch as newline-delimited `{"type","object"}` events: from a resourceVersion, or from
 * the current state (synthetic ADDED events first) when none is given. Supports bookmarks, Table
 * output for `kubectl get -w`, `timeoutSeconds`, and answers a compacted start with an ERROR event
 * carrying 410 Expired, which is what client-go's reflectors expect.
 */
export async function serveWatch(r: ResourceRequest, storage: RestStorage, log: Logger): Promise<void> {
  const { req, res, query: q, info } = r;
  const rep = negotiate(req.headers.accept, ['Table']);
  let fieldSelector = q.string('fieldSelector');
  if (info.name !== undefined) fieldSelector = [fieldSelector, `metadata.name=${info.name}`].filter((s) => s !== undefined && s !== '').join(',');
  const filter = selectionFilter(q.string('labelSelector'), fieldSelector, storage.rt);
  const rv = q.string('resourceVersion');
  const bookmarks = q.bool('allowWatchBookmarks');
  const sendInitialEvents = q.string('sendInitialEvents') === 'true';
  const startRevision = rv === undefined || rv === '' || rv === '0' ? undefined : parseResourceVersion(rv);
  const timeoutSeconds = q.int('timeoutSeconds') ?? MIN_WATCH_SECONDS + Math.floor(Math.random() * MIN_WATCH_SECONDS);
  const tableOpts = { includeObject: (q.string('includeObject') ?? 'Metadata') as 'None' | 'Metadata' | 'Object', now: new Date() };

  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  r.signal.addEventListener('abort', onClose, { once: true });
  res.once('close', onClose);
  const timer = setTimeout(onClose, timeoutSeconds * 1000);
  timer.unref();

  res.writeHead(200, { 'Content-Type': rep.as === 'Table' ? 'application/json;as=Table;g=meta.k8s.io;v=v1' : 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let tableColumnsSent = false;
  const encode = (type: CacheEventType | 'BOOKMARK', obj: CachedObject | undefined, revision: number): string => {
    if (type === 'BOOKMARK' || obj === undefined) {
      const rt = storage.rt;
      const apiVersion = rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
      return `{"type":"BOOKMARK","object":{"kind":${JSON.stringify(rt.kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":{"resourceVersion":"${revision}"}}}\n`;
    }
    if (rep.as !== 'Table') return eventLine(type, obj, storage);
    const table = objectAsTable(storage, storage.served(obj), { ...tableOpts, now: new Date() }, !tableColumnsSent);
    tableColumnsSent = true;
    return `${JSON.stringify({ type, object: table })}\n`;
  };
  const write = async (chunk: string): Promise<void> => {
    if (!res.write(chunk) && !abort.signal.aborted) await once(res, 'drain', { signal: abort.signal });
  };

  try {
    let after: number;
    if (startRevision === undefined) {
      const snap = await storage.snapshot(info.namespace, filter, rv !== '0');
      for (const o of snap.items) await write(encode('ADDED', o, snap.revision));
      after = snap.revision;
      if (sendInitialEvents && bookmarks) await write(initialEventsEnd(storage, snap.revision));
    } else {
      after = startRevision;
    }
    let lastBookmark = Date.now();
    let lastRevision = after;
    for await (const batch of storage.watch(info.namespace, after, filter, abort.signal)) {
      let chunk = '';
      for (const ev of batch.events) chunk += encode(ev.type, ev.object, batch.revision);
      if (chunk !== '') await write(chunk);
      if (bookmarks && batch.events.length === 0 && batch.revision > lastRevision && Date.now() - lastBookmark >= BOOKMARK_INTERVAL_MS) {
        await write(encode('BOOKMARK', undefined, batch.revision));
        lastBookmark = Date.now();
      }
      lastRevision = batch.revision;
    }
  } catch (err) {
    // A watcher cut off (too slow, or the cache resynced) just sees its stream end, as with
    // kube-apiserver: the client re-watches from its last resourceVersion.
    if (abort.signal.aborted || err instanceof WatchTerminatedError) return;
    if (hasCode(err, 'STORE_COMPACTED')) {
      res.write(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rv ?? ''}`, reason: 'Expired', code: 410 } })}\n`);
    } else {
      log.warn('watch ended with an error', { resource: storage.rt.plural, err: err instanceof Error ? err.message : String(err) });
      res.write(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err instanceof Error ? err.message : String(err), reason: 'InternalError', code: 500 } })}\n`);
    }
  } finally {
    clearTimeout(timer);
    r.signal.removeEventListener('abort', onClose);
    if (!res.writableEnded) res.end();
  }
}

function initialEventsEnd(storage: RestStorage, revision: number): string {
  const rt = storage.rt;
  const obj: KubeObject = {
    kind: rt.kind,
    apiVersion: rt.group === '' ? rt.version : `${rt.group}/${rt.version}`,
    metadata: { resourceVersion: String(revision), annotations: { 'k8s.io/initial-events-end': 'true' } },
  };
  return `${JSON.stringify({ type: 'BOOKMARK', object: obj })}\n`;
}
