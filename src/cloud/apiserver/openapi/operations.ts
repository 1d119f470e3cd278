import { definitionNames, groupVersionPath, type ServedResource } from './served-resource.ts';

/**
 * The REST operations of the served resources, in a form both OpenAPI versions render: which paths
 * exist, which methods they take, with which parameters, bodies and responses. kubectl reads two
 * things from here: whether a resource's PATCH takes `fieldValidation` (then it leaves validation to
 * the server) and which patch media types PATCH consumes (strategic merge patch only for built-ins).
 */

/** One parameter, v2-shaped: body parameters name a definition, the others a primitive type. */
export interface ParameterSpec {
  readonly name: string;
  readonly in: 'path' | 'query' | 'body';
  readonly description: string;
  readonly type?: 'string' | 'boolean' | 'integer';
  readonly required?: boolean;
  /** Kubernetes marks every query parameter `uniqueItems: true`; kept for fidelity. */
  readonly uniqueItems?: boolean;
  /** Body parameters: the definition the body follows. */
  readonly schema?: string;
}

export interface ResponseSpec {
  readonly code: string;
  readonly description: string;
  /** The definition of the response body, if any. */
  readonly schema?: string;
}

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

/** `x-kubernetes-action`: what an operation does, in the terms of kube-openapi. */
export type KubernetesAction = 'get' | 'list' | 'watch' | 'watchlist' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';

export interface OperationSpec {
  readonly method: HttpMethod;
  readonly operationId: string;
  readonly description: string;
  readonly tag: string;
  readonly action: KubernetesAction;
  readonly gvk?: { readonly group: string; readonly version: string; readonly kind: string };
  readonly consumes: readonly string[];
  readonly produces: readonly string[];
  readonly parameters: readonly ParameterSpec[];
  readonly responses: readonly ResponseSpec[];
}

export interface PathSpec {
  readonly path: string;
  readonly group: string;
  readonly version: string;
  /** Parameters every operation of the path takes (`name`, `namespace`, `pretty`). */
  readonly parameters: readonly ParameterSpec[];
  readonly operations: readonly OperationSpec[];
}

const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';
const DELETE_OPTIONS = 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';
const PATCH = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
const WATCH_EVENT = 'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent';
const RESOURCE_LIST = 'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList';
const SCALE = 'io.k8s.api.autoscaling.v1.Scale';

const JSON_YAML = ['application/json', 'application/yaml'];
const WATCHABLE = [...JSON_YAML, 'application/json;stream=watch'];
const ANY = ['*/*'];
const JSON_PATCHES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
/** Strategic merge patch needs Go struct tags, so kube-apiserver accepts it for built-in types only. */
const ALL_PATCHES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

const query = (name: string, type: 'string' | 'boolean' | 'integer', description: string): ParameterSpec => ({ name, in: 'query', type, uniqueItems: true, description });

const P = {
  pretty: query('pretty', 'string', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
  dryRun: query(
    'dryRun',
    'string',
    'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed',
  ),
  fieldManager: query(
    'fieldManager',
    'string',
    'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.',
  ),
  patchFieldManager: query(
    'fieldManager',
    'string',
    'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).',
  ),
  fieldValidation: query(
    'fieldValidation',
    'string',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
  ),
  force: query(
    'force',
    'boolean',
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
  ),
  allowWatchBookmarks: query(
    'allowWatchBookmarks',
    'boolean',
    'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.',
  ),
  continue: query(
    'continue',
    'string',
    'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize. If the specified continue value is no longer valid whether due to expiration (generally five to fifteen minutes) or a configuration change on the server, the server will respond with a 410 ResourceExpired error together with a continue token. If the client needs a consistent list, it must restart their list without the continue field. Otherwise, the client may send another list request with the token received with the 410 error, the server will respond with a list starting from the next key, but from the latest snapshot, which is inconsistent from the previous list results - objects that are created, modified, or deleted after the first list request will be included in the response, as long as their keys are after the "next key".\n\nThis field is not supported when watch is true. Clients may start a watch from the last resourceVersion value returned by the server and not miss any modifications.',
  ),
  fieldSelector: query('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  labelSelector: query('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: query(
    'limit',
    'integer',
    'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results. Setting a limit may return fewer than the requested amount of items (up to zero items) in the event all requested objects are filtered out and clients should only use the presence of the continue field to determine whether more results are available. Servers may choose not to support the limit argument and will return all of the available results. If limit is specified and the continue field is empty, clients may assume that no more results are available. This field is not supported if watch is true.\n\nThe server guarantees that the objects returned when using continue will be identical to issuing a single list call without a limit - that is, no objects created, modified, or deleted after the first request is issued will be included in any subsequent continued requests. This is sometimes referred to as a consistent snapshot, and ensures that a client that is using limit to receive smaller chunks of a very large result can ensure they see all possible objects. If objects are updated during a chunked list the version of the object that was present at the time the first list result was calculated is returned.',
  ),
  resourceVersion: query(
    'resourceVersion',
    'string',
    'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
  ),
  resourceVersionMatch: query(
    'resourceVersionMatch',
    'string',
    'resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
  ),
  sendInitialEvents: query(
    'sendInitialEvents',
    'boolean',
    '`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic "Bookmark" event  will be sent. The bookmark will report the ResourceVersion (RV) corresponding to the set of objects, and be marked with `"k8s.io/initial-events-end": "true"` annotation. Afterwards, the watch stream will proceed as usual, sending watch events corresponding to changes (subsequent to the RV) to objects watched.\n\nWhen `sendInitialEvents` option is set, we require `resourceVersionMatch` option to also be set.',
  ),
  timeoutSeconds: query('timeoutSeconds', 'integer', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.'),
  watch: query('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.'),
  gracePeriodSeconds: query(
    'gracePeriodSeconds',
    'integer',
    'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.',
  ),
  orphanDependents: query(
    'orphanDependents',
    'boolean',
    'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.',
  ),
  propagationPolicy: query(
    'propagationPolicy',
    'string',
    "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
  ),
  namespace: { name: 'namespace', in: 'path', type: 'string', required: true, uniqueItems: true, description: 'object name and auth scope, such as for teams and projects' } satisfies ParameterSpec,
};

const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [P.dryRun, P.patchFieldManager, P.fieldValidation, P.force];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
const DELETE_COLLECTION_PARAMS = [P.continue, P.dryRun, P.fieldSelector, P.gracePeriodSeconds, P.labelSelector, P.limit, P.orphanDependents, P.propagationPolicy, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds];

const UNAUTHORIZED: ResponseSpec = { code: '401', description: 'Unauthorized' };

function body(schema: string, required = true): ParameterSpec {
  return { name: 'body', in: 'body', required, schema, description: '' };
}

function nameParam(kind: string): ParameterSpec {
  return { name: 'name', in: 'path', type: 'string', required: true, uniqueItems: true, description: `name of the ${kind}` };
}

/** `apiextensions.k8s.io` → `Apiextensions`, `stable.example.com` → `StableExampleCom`, `''` → `Core`. */
export function groupIdentifier(group: string): string {
  if (group === '') return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split(/[.-]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The tag Kubernetes files operations under: `core_v1`, `apps_v1`, `stableExampleCom_v1`. */
export function groupVersionTag(group: string, version: string): string {
  const id = groupIdentifier(group);
  return `${id.charAt(0).toLowerCase()}${id.slice(1)}_${version}`;
}

/**
 * Every path of every served resource, plus each group-version's discovery path, sorted by path so
 * the documents (and their hashes) do not depend on the order resources were listed in.
 */
export function buildPaths(resources: readonly ServedResource[]): PathSpec[] {
  const paths = new Map<string, PathSpec>();
  const add = (spec: PathSpec): void => {
    if (spec.operations.length > 0) paths.set(spec.path, spec);
  };
  const groupVersions = new Map<string, { group: string; version: string }>();
  for (const r of resources) {
    groupVersions.set(groupVersionPath(r.group, r.version), { group: r.group, version: r.version });
    for (const spec of resourcePaths(r)) add(spec);
  }
  for (const [prefix, gv] of groupVersions) {
    const id = `${groupIdentifier(gv.group)}${capitalize(gv.version)}`;
    add({
      path: `${prefix}/`,
      ...gv,
      parameters: [],
      operations: [
        {
          method: 'get',
          operationId: `get${id}APIResources`,
          description: 'get available resources',
          tag: groupVersionTag(gv.group, gv.version),
          action: 'get',
          consumes: JSON_YAML,
          produces: JSON_YAML,
          parameters: [],
          responses: [{ code: '200', description: 'OK', schema: RESOURCE_LIST }, UNAUTHORIZED],
        },
      ],
    });
  }
  return [...paths.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function resourcePaths(r: ServedResource): PathSpec[] {
  const { kind: kindDef, list: listDef } = definitionNames(r);
  const verbs = new Set(r.verbs);
  const gv = { group: r.group, version: r.version };
  const gvk = { ...gv, kind: r.kind };
  const tag = groupVersionTag(r.group, r.version);
  const scope = r.namespaced ? 'Namespaced' : '';
  const id = (verb: string, suffix = ''): string => `${verb}${groupIdentifier(r.group)}${capitalize(r.version)}${scope}${r.kind}${suffix}`;
  const prefix = groupVersionPath(r.group, r.version);
  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
  const item = `${collection}/{name}`;
  const scopeParams = r.namespaced ? [P.namespace] : [];
  const patches = typeof r.definition === 'string' ? ALL_PATCHES : JSON_PATCHES;
  const op = (o: Omit<OperationSpec, 'tag' | 'gvk'> & { gvk?: OperationSpec['gvk'] }): OperationSpec => ({ tag, gvk, ...o });
  const specs: PathSpec[] = [];

  const collectionOps: OperationSpec[] = [];
  if (verbs.has('list')) {
    collectionOps.push(op({ method: 'get', operationId: id('list'), description: `list or watch objects of kind ${r.kind}`, action: 'list', consumes: ANY, produces: WATCHABLE, parameters: LIST_PARAMS, responses: [{ code: '200', description: 'OK', schema: listDef }, UNAUTHORIZED] }));
  }
  if (verbs.has('create')) {
    collectionOps.push(
      op({
        method: 'post',
        operationId: id('create'),
        description: `create ${article(r.kind)} ${r.kind}`,
        action: 'post',
        consumes: ANY,
        produces: JSON_YAML,
        parameters: [body(kindDef), ...WRITE_PARAMS],
        responses: [{ code: '200', description: 'OK', schema: kindDef }, { code: '201', description: 'Created', schema: kindDef }, { code: '202', description: 'Accepted', schema: kindDef }, UNAUTHORIZED],
      }),
    );
  }
  if (verbs.has('deletecollection')) {
    collectionOps.push(op({ method: 'delete', operationId: `delete${groupIdentifier(r.group)}${capitalize(r.version)}Collection${scope}${r.kind}`, description: `delete collection of ${r.kind}`, action: 'deletecollection', consumes: ANY, produces: JSON_YAML, parameters: [body(DELETE_OPTIONS, false), ...DELETE_COLLECTION_PARAMS], responses: [{ code: '200', description: 'OK', schema: STATUS }, UNAUTHORIZED] }));
  }
  specs.push({ path: collection, ...gv, parameters: [...scopeParams, P.pretty], operations: collectionOps });

  const itemParams = [nameParam(r.kind), ...scopeParams, P.pretty];
  const itemOps: OperationSpec[] = [];
  if (verbs.has('get')) {
    itemOps.push(op({ method: 'get', operationId: id('read'), description: `read the specified ${r.kind}`, action: 'get', consumes: ANY, produces: JSON_YAML, parameters: [], responses: [{ code: '200', description: 'OK', schema: kindDef }, UNAUTHORIZED] }));
  }
  if (verbs.has('update')) itemOps.push(op(replaceOp(id('replace'), `replace the specified ${r.kind}`, kindDef)));
  if (verbs.has('patch')) itemOps.push(op(patchOp(id('patch'), `partially update the specified ${r.kind}`, kindDef, patches)));
  if (verbs.has('delete')) {
    itemOps.push(op({ method: 'delete', operationId: id('delete'), description: `delete ${article(r.kind)} ${r.kind}`, action: 'delete', consumes: ANY, produces: JSON_YAML, parameters: [body(DELETE_OPTIONS, false), ...DELETE_PARAMS], responses: [{ code: '200', description: 'OK', schema: STATUS }, { code: '202', description: 'Accepted', schema: STATUS }, UNAUTHORIZED] }));
  }
  specs.push({ path: item, ...gv, parameters: itemParams, operations: itemOps });

  if (r.subresources.includes('status')) {
    specs.push({
      path: `${item}/status`,
      ...gv,
      parameters: itemParams,
      operations: [
        op({ method: 'get', operationId: id('read', 'Status'), description: `read status of the specified ${r.kind}`, action: 'get', consumes: ANY, produces: JSON_YAML, parameters: [], responses: [{ code: '200', description: 'OK', schema: kindDef }, UNAUTHORIZED] }),
        op(replaceOp(id('replace', 'Status'), `replace status of the specified ${r.kind}`, kindDef)),
        op(patchOp(id('patch', 'Status'), `partially update status of the specified ${r.kind}`, kindDef, patches)),
      ],
    });
  }
  if (r.subresources.includes('scale')) {
    const scaleGvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    specs.push({
      path: `${item}/scale`,
      ...gv,
      parameters: itemParams,
      operations: [
        op({ method: 'get', operationId: id('read', 'Scale'), description: `read scale of the specified ${r.kind}`, action: 'get', gvk: scaleGvk, consumes: ANY, produces: JSON_YAML, parameters: [], responses: [{ code: '200', description: 'OK', schema: SCALE }, UNAUTHORIZED] }),
        op({ ...replaceOp(id('replace', 'Scale'), `replace scale of the specified ${r.kind}`, SCALE), gvk: scaleGvk }),
        op({ ...patchOp(id('patch', 'Scale'), `partially update scale of the specified ${r.kind}`, SCALE, patches), gvk: scaleGvk }),
      ],
    });
  }

  if (verbs.has('watch')) {
    const watchPrefix = r.namespaced ? `${prefix}/watch/namespaces/{namespace}/${r.plural}` : `${prefix}/watch/${r.plural}`;
    const watchParams = [...LIST_PARAMS];
    const watchOp = (operationId: string, description: string, action: KubernetesAction): OperationSpec =>
      op({ method: 'get', operationId, description, action, consumes: ANY, produces: WATCHABLE, parameters: [], responses: [{ code: '200', description: 'OK', schema: WATCH_EVENT }, UNAUTHORIZED] });
    specs.push({ path: watchPrefix, ...gv, parameters: [...scopeParams, P.pretty, ...watchParams], operations: [watchOp(id('watch', 'List'), `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`, 'watchlist')] });
    specs.push({ path: `${watchPrefix}/{name}`, ...gv, parameters: [nameParam(r.kind), ...scopeParams, P.pretty, ...watchParams], operations: [watchOp(id('watch'), `watch changes to an object of kind ${r.kind}. deprecated: use the 'watch' parameter with a list operation, filtered to a single item with the 'fieldSelector' parameter.`, 'watch')] });
  }
  if (r.namespaced && (verbs.has('list') || verbs.has('watch'))) {
    const allId = (verb: string, suffix: string): string => `${verb}${groupIdentifier(r.group)}${capitalize(r.version)}${r.kind}${suffix}`;
    if (verbs.has('list')) {
      specs.push({ path: `${prefix}/${r.plural}`, ...gv, parameters: [P.pretty, ...LIST_PARAMS], operations: [op({ method: 'get', operationId: allId('list', 'ForAllNamespaces'), description: `list or watch objects of kind ${r.kind}`, action: 'list', consumes: ANY, produces: WATCHABLE, parameters: [], responses: [{ code: '200', description: 'OK', schema: listDef }, UNAUTHORIZED] })] });
    }
    if (verbs.has('watch')) {
      specs.push({
        path: `${prefix}/watch/${r.plural}`,
        ...gv,
        parameters: [P.pretty, ...LIST_PARAMS],
        operations: [op({ method: 'get', operationId: allId('watch', 'ListForAllNamespaces'), description: `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`, action: 'watchlist', consumes: ANY, produces: WATCHABLE, parameters: [], responses: [{ code: '200', description: 'OK', schema: WATCH_EVENT }, UNAUTHORIZED] })],
      });
    }
  }
  return specs;
}

function replaceOp(operationId: string, description: string, schema: string): Omit<OperationSpec, 'tag' | 'gvk'> {
  return {
    method: 'put',
    operationId,
    description,
    action: 'put',
    consumes: ANY,
    produces: JSON_YAML,
    parameters: [body(schema), ...WRITE_PARAMS],
    responses: [{ code: '200', description: 'OK', schema }, { code: '201', description: 'Created', schema }, UNAUTHORIZED],
  };
}

function patchOp(operationId: string, description: string, schema: string, consumes: readonly string[]): Omit<OperationSpec, 'tag' | 'gvk'> {
  return {
    method: 'patch',
    operationId,
    description,
    action: 'patch',
    consumes,
    produces: JSON_YAML,
    parameters: [body(PATCH), ...PATCH_PARAMS],
    responses: [{ code: '200', description: 'OK', schema }, { code: '201', description: 'Created', schema }, UNAUTHORIZED],
  };
}

function article(kind: string): string {
  return /^[AEIOU]/.test(kind) ? 'an' : 'a';
}
