import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../api/object.ts';
import { ApiError } from '../../api/errors.ts';
import type { Backend } from '../../store/backend.ts';
import type { Logger } from '../../log/logger.ts';
import { describeError } from '../../errors/platform-error.ts';
import { BUILTIN_RESOURCES } from './resources/builtin.ts';
import type { ResourceRegistry } from './resources/registry.ts';
import { createServedRegistry } from './resources/served-registry.ts';
import type { RestStorage, WriteOptions } from './storage/rest-storage.ts';
import { CrdController } from './crd/crd-controller.ts';
import { Discovery } from './discovery.ts';
import { OpenApiPublisher } from './openapi/publisher.ts';
import { servedResourcesOf } from './openapi-resources.ts';
import { ResourceHandler } from './http/resource-handler.ts';
import { ApiHttpServer } from './http/server.ts';
import { namespaceFinalize, NAMESPACE_FINALIZE_SUBRESOURCE } from './http/namespace-finalize.ts';
import { podBinding, POD_BINDING_SUBRESOURCE } from './http/binding.ts';
import { podLog, POD_LOG_SUBRESOURCE } from './http/pod-log.ts';
import { podExec, POD_EXEC_SUBRESOURCE } from './http/pod-exec.ts';
import { podPortForward, POD_PORTFORWARD_SUBRESOURCE } from './http/pod-portforward.ts';
import { StreamError } from '../../protocol/stream.ts';
import type { StreamOpener } from '../stream/tunnels.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { Authorizer } from './auth/authorizer.ts';
import { NodeGraphFeeder } from './node-graph-feeder.ts';
import type { NodeGraphIndex } from './auth/node-graph.ts';

/** Namespaces every cluster has. */
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
const SYSTEM_WRITE: WriteOptions = { dryRun: false, fieldValidation: 'Ignore', user: 'system:apiserver' };
const BUILTIN_CRDS = new URL('./crd/builtin/devices.kubeedge.io.yaml', import.meta.url);

export interface ApiServerOptions {
  readonly bindAddress: string;
  readonly port: number;
  readonly tls: { readonly key: string; readonly cert: string; readonly ca: string };
  readonly backend: Backend;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  /** Kept current from the pods the API serves, for the node authorizer. */
  readonly nodeGraph: NodeGraphIndex;
  readonly kedgeVersion: string;
  readonly log: Logger;
  /** Streams to pods on edge nodes, for pods/log, pods/exec and pods/portforward (503 without). */
  readonly streams?: StreamOpener;
}

/**
 * kedge's Kubernetes-compatible API server: the built-in resources and CRDs on the revisioned
 * store, discovery, OpenAPI, authentication and authorization, over HTTPS.
 *
 * Start-up, in order: (1) watch caches for the built-in resources, (2) system namespaces,
 * (3) kedge's own CRDs, (4) every CRD served, (5) HTTPS listener; `ready` resolves after (5).
 */
export class ApiServer {
  readonly #options: ApiServerOptions;
  readonly #log: Logger;
  readonly registry: ResourceRegistry;
  #http: ApiHttpServer | undefined;
  #ready = false;

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#log = options.log;
    this.registry = createServedRegistry({ backend: options.backend, log: options.log });
  }

  /** The HTTPS port actually bound. */
  get port(): number {
    if (this.#http === undefined) throw new Error('API server not started');
    return this.#http.address.port;
  }

  /** Starts everything and resolves when the API answers; runs until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const log = this.#log;
    log.info('1. starting watch caches for built-in resources', { count: BUILTIN_RESOURCES.length });
    for (const rt of BUILTIN_RESOURCES) await this.registry.add(rt);
    signal.addEventListener('abort', () => this.registry.stop(), { once: true });

    log.info('2. ensuring system namespaces');
    await this.#ensureNamespaces();

    log.info('3. installing kedge CRDs (devices.kubeedge.io)');
    await this.#installBuiltinCrds();

    log.info('4. serving CustomResourceDefinitions');
    const crds = this.#storage('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    const crdController = new CrdController({ crds, registry: this.registry, log: log.child({ component: 'crd-controller' }) });
    await crdController.start(signal);

    const feeder = new NodeGraphFeeder({
      pods: this.#storage('', 'v1', 'pods'),
      devices: this.registry.lookup('devices.kubeedge.io', 'v1beta1', 'devices'),
      graph: this.#options.nodeGraph,
      log: log.child({ component: 'node-graph' }),
    });
    await feeder.start(signal);

    const openapi = new OpenApiPublisher();
    const publish = (): void => openapi.update(servedResourcesOf(this.registry.resources()));
    publish();
    this.registry.onChange(publish);
    const discovery = new Discovery({
      registry: this.registry,
      kedgeVersion: this.#options.kedgeVersion,
      extraSubresources: [
        { group: '', plural: 'namespaces', subresource: NAMESPACE_FINALIZE_SUBRESOURCE, kind: 'Namespace', verbs: ['update'] },
        { group: '', plural: 'pods', subresource: POD_BINDING_SUBRESOURCE, kind: 'Binding', verbs: ['create'] },
        { group: '', plural: 'pods', subresource: POD_LOG_SUBRESOURCE, kind: 'Pod', verbs: ['get'] },
        { group: '', plural: 'pods', subresource: POD_EXEC_SUBRESOURCE, kind: 'PodExecOptions', verbs: ['create', 'get'] },
        { group: '', plural: 'pods', subresource: POD_PORTFORWARD_SUBRESOURCE, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      ],
    });
    const streams: StreamOpener = this.#options.streams ?? { open: () => Promise.reject(new StreamError('STREAM_NODE_UNAVAILABLE', 'this API server has no stream tunnels to edge nodes')) };
    const resources = new ResourceHandler({
      registry: this.registry,
      log: log.child({ component: 'rest' }),
      subresources: new Map([
        [`namespaces/${NAMESPACE_FINALIZE_SUBRESOURCE}`, namespaceFinalize],
        [`pods/${POD_BINDING_SUBRESOURCE}`, (r, pods) => podBinding(r, pods, this.#options.backend)],
        [`pods/${POD_LOG_SUBRESOURCE}`, (r, pods) => podLog(r, pods, streams)],
        [`pods/${POD_EXEC_SUBRESOURCE}`, (r, pods) => podExec(r, pods, streams, log.child({ component: 'exec' }))],
        [`pods/${POD_PORTFORWARD_SUBRESOURCE}`, (r, pods) => podPortForward(r, pods, streams, log.child({ component: 'portforward' }))],
      ]),
    });

    log.info('5. listening', { address: this.#options.bindAddress, port: this.#options.port });
    this.#http = new ApiHttpServer({
      bindAddress: this.#options.bindAddress,
      port: this.#options.port,
      tls: this.#options.tls,
      authenticator: this.#options.authenticator,
      authorizer: this.#options.authorizer,
      resources,
      discovery,
      openapi,
      ready: () => this.#ready,
      log: log.child({ component: 'http' }),
    });
    await this.#http.start(signal);
    this.#ready = true;
    log.info('API server ready', { port: this.port });
  }

  #storage(group: string, version: string, plural: string): RestStorage {
    const s = this.registry.lookup(group, version, plural);
    if (s === undefined) throw new Error(`${plural}.${group} is not registered`);
    return s;
  }



  async #ensureNamespaces(): Promise<void> {
    const namespaces = this.#storage('', 'v1', 'namespaces');
    for (const name of SYSTEM_NAMESPACES) {
      await createIfMissing(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }

  async #installBuiltinCrds(): Promise<void> {
    const crds = this.#storage('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    for (const doc of parseAllDocuments(readFileSync(BUILTIN_CRDS, 'utf8'))) {
      const crd = doc.toJSON() as KubeObject;
      const name = crd.metadata.name ?? '';
      try {
        await crds.mutate(undefined, name, SYSTEM_WRITE, undefined, (current) => (current === undefined ? crd : { ...current, spec: crd['spec'] }), true);
      } catch (err) {
        this.#log.error('cannot install built-in CRD', { crd: name, err: describeError(err) });
        throw err;
      }
    }
  }
}

async function createIfMissing(storage: RestStorage, namespace: string | undefined, obj: KubeObject): Promise<void> {
  try {
    await storage.create(namespace, obj, SYSTEM_WRITE);
  } catch (err) {
    if (err instanceof ApiError && err.reason === 'AlreadyExists') return;
    throw err;
  }
}
