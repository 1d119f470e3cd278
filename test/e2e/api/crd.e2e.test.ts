/**
 * Issue 2: custom resources through kubectl: a CRD with a structural schema, status subresource and
 * printer columns; validation, pruning and strict field validation; `kubectl explain`; KubeEdge
 * device manifests applied unchanged; discovery as `kubectl api-resources` shows it.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { KUBECTL_VERSIONS, getJson, namespaceFor, namespaceManifest, parseTable, useCloud } from '../harness/index.ts';

const cloud = await useCloud();

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.e2e.kedge.io
spec:
  group: e2e.kedge.io
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    listKind: WidgetList
    shortNames: [wdg]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Phase
      type: string
      jsonPath: .status.phase
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        description: Widget is a thing kedge's e2e tests make.
        properties:
          spec:
            type: object
            description: WidgetSpec is what the user asks for.
            required: [size]
            properties:
              size:
                type: integer
                minimum: 1
                description: Size of the widget in units.
              color:
                type: string
                enum: [red, green, blue]
                description: Color of the widget.
          status:
            type: object
            properties:
              phase:
                type: string
`;

interface Widget {
  metadata: { name: string; resourceVersion: string; generation?: number };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function widget(ns: string, name: string, spec: string): string {
  return `apiVersion: e2e.kedge.io/v1\nkind: Widget\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec: ${spec}\n`;
}

interface StatusBody {
  kind: string;
  code: number;
  reason: string;
  details?: { causes?: { field?: string; reason?: string; message?: string }[] };
}

before(async () => {
  const applied = await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: CRD });
  assert.match(applied, /customresourcedefinition\.apiextensions\.k8s\.io\/widgets\.e2e\.kedge\.io created/);
  await cloud.kubectlOk('1.33', ['wait', '--for=condition=Established', 'crd/widgets.e2e.kedge.io', '--timeout=30s']);
});

for (const v of KUBECTL_VERSIONS) {
  const ns = namespaceFor('crd', v);

  test(`E2E_API_CRD_1 (kubectl ${v}): custom objects are created and listed with the CRD's printer columns`, async () => {
    await cloud.apply(v, namespaceManifest(ns));
    const created = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: [widget(ns, 'w1', '{size: 3, color: red}'), widget(ns, 'w2', '{size: 12}')].join('---\n') });
    assert.match(created, /^widget\.e2e\.kedge\.io\/w1 created$/m);
    assert.match(created, /^widget\.e2e\.kedge\.io\/w2 created$/m);

    const table = parseTable(await cloud.kubectlOk(v, ['get', 'widgets', '-n', ns]));
    assert.deepEqual(table.headers, ['NAME', 'SIZE', 'COLOR', 'PHASE', 'AGE']);
    assert.deepEqual([table.row('w1')['SIZE'], table.row('w1')['COLOR'], table.row('w1')['PHASE']], ['3', 'red', '']);
    assert.deepEqual([table.row('w2')['SIZE'], table.row('w2')['COLOR']], ['12', '']);

    const short = parseTable(await cloud.kubectlOk(v, ['get', 'wdg', 'w1', '-n', ns]));
    assert.equal(short.row('w1')['SIZE'], '3', 'the short name resolves');

    const unchanged = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: widget(ns, 'w1', '{size: 3, color: red}') });
    assert.match(unchanged, /^widget\.e2e\.kedge\.io\/w1 unchanged$/m);
  });

  test(`E2E_API_CRD_2 (kubectl ${v}): the status subresource is written only through /status`, async () => {
    await cloud.kubectlOk(v, ['patch', 'widget', 'w1', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready"}}']);
    assert.equal(parseTable(await cloud.kubectlOk(v, ['get', 'widgets', 'w1', '-n', ns])).row('w1')['PHASE'], 'Ready');

    const before = await getJson<Widget>(cloud, v, ['widget', 'w1', '-n', ns]);
    await cloud.kubectlOk(v, ['patch', 'widget', 'w1', '-n', ns, '--type=merge', '-p', '{"spec":{"size":4},"status":{"phase":"Hacked"}}']);
    const after = await getJson<Widget>(cloud, v, ['widget', 'w1', '-n', ns]);
    assert.equal(after.spec['size'], 4);
    assert.deepEqual(after.status, { phase: 'Ready' }, 'status in a write to the main resource is ignored');
    assert.equal(after.metadata.generation, (before.metadata.generation ?? 0) + 1, 'a spec change bumps the generation');
  });

  test(`E2E_API_CRD_3 (kubectl ${v}): schema violations are rejected with 422, unknown fields pruned or refused under --validate=strict`, async () => {
    const wrongType = await cloud.kubectl(v, ['apply', '-f', '-'], { stdin: widget(ns, 'bad1', '{size: big}') });
    assert.notEqual(wrongType.code, 0);
    assert.match(wrongType.stderr, /is invalid/);
    assert.match(wrongType.stderr, /spec\.size/);

    const badEnum = await cloud.kubectl(v, ['apply', '-f', '-'], { stdin: widget(ns, 'bad2', '{size: 2, color: purple}') });
    assert.notEqual(badEnum.code, 0);
    assert.match(badEnum.stderr, /spec\.color/);
    assert.match(badEnum.stderr, /Unsupported value: "purple"/);

    const missing = await cloud.kubectl(v, ['apply', '-f', '-'], { stdin: widget(ns, 'bad3', '{color: red}') });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /spec\.size: Required value/);

    const strict = await cloud.kubectl(v, ['apply', '--validate=strict', '-f', '-'], { stdin: widget(ns, 'extra1', '{size: 2, extra: yes}') });
    assert.notEqual(strict.code, 0, 'strict validation refuses an unknown field');
    assert.match(strict.stderr, /unknown field "spec\.extra"/);

    const lax = await cloud.kubectlOk(v, ['apply', '--validate=false', '-f', '-'], { stdin: widget(ns, 'extra2', '{size: 2, extra: yes}') });
    assert.match(lax, /widget\.e2e\.kedge\.io\/extra2 created/);
    const pruned = await getJson<Widget>(cloud, v, ['widget', 'extra2', '-n', ns]);
    assert.deepEqual(pruned.spec, { size: 2 }, 'the unknown field is pruned');

    const missingNames = await cloud.kubectl(v, ['get', 'widget', 'bad1', 'bad2', 'bad3', 'extra1', '-n', ns, '-o', 'name', '--ignore-not-found']);
    assert.equal(missingNames.stdout.trim(), '', 'no rejected object was stored');
  });

  test(`E2E_API_CRD_4 (kubectl ${v}): kubectl explain shows the CRD schema's field docs`, async () => {
    const spec = await cloud.kubectlOk(v, ['explain', 'widget.spec']);
    assert.match(spec, /KIND:\s+Widget/);
    assert.match(spec, /WidgetSpec is what the user asks for\./);
    assert.match(spec, /^\s+size\s+<integer>( -required-)?/m);
    assert.match(spec, /Size of the widget in units\./);
    assert.match(spec, /^\s+color\s+<string>/m);
  });

  test(`E2E_API_DEVICE_1 (kubectl ${v}): KubeEdge DeviceModel and Device manifests apply unchanged`, async () => {
    const dns = namespaceFor('devices', v);
    await cloud.apply(v, namespaceManifest(dns));
    const manifest = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: beta1-model
  namespace: ${dns}
spec:
  protocol: modbus
  properties:
  - name: temp
    description: beta1-model
    type: INT
    accessMode: ReadWrite
    maximum: "100"
    minimum: "1"
    unit: Celsius
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: beta1-device
  namespace: ${dns}
  labels:
    model: beta1-model
spec:
  deviceModelRef:
    name: beta1-model
  nodeName: worker-node1
  protocol:
    protocolName: modbus
    configData:
      ip: 172.17.0.3
      port: 1502
  properties:
  - name: temp
    desired:
      value: "30"
    visitors:
      protocolName: modbus
      configData:
        register: HoldingRegister
        offset: 2
        limit: 1
        scale: 1
        isSwap: true
        isRegisterSwap: true
    collectCycle: 10000000000
    reportCycle: 10000000000
    reportToCloud: true
    pushMethod:
      mqtt:
        address: tcp://127.0.0.1:1883
        topic: temp
        qos: 0
        retained: false
  methods:
  - name: setTemp
    description: set the temperature
    propertyNames: [temp]
`;
    const applied = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: manifest });
    assert.match(applied, /^devicemodel\.devices\.kubeedge\.io\/beta1-model created$/m);
    assert.match(applied, /^device\.devices\.kubeedge\.io\/beta1-device created$/m);
    const again = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: manifest });
    assert.match(again, /^devicemodel\.devices\.kubeedge\.io\/beta1-model unchanged$/m);
    assert.match(again, /^device\.devices\.kubeedge\.io\/beta1-device unchanged$/m);

    const devices = parseTable(await cloud.kubectlOk(v, ['get', 'devices', '-n', dns]));
    assert.equal(devices.headers[0], 'NAME');
    assert.ok(devices.headers.includes('AGE'));
    devices.row('beta1-device');
    const models = parseTable(await cloud.kubectlOk(v, ['get', 'devicemodels', '-n', dns]));
    models.row('beta1-model');

    const device = await getJson<{ spec: { nodeName: string; protocol: { configData: unknown }; properties: { visitors: { configData: unknown }; desired: { value: string } }[] } }>(cloud, v, ['device', 'beta1-device', '-n', dns]);
    assert.equal(device.spec.nodeName, 'worker-node1');
    assert.deepEqual(device.spec.protocol.configData, { ip: '172.17.0.3', port: 1502 }, 'free-form protocol config is kept');
    assert.deepEqual(device.spec.properties[0]?.visitors.configData, { register: 'HoldingRegister', offset: 2, limit: 1, scale: 1, isSwap: true, isRegisterSwap: true });
    assert.equal(device.spec.properties[0]?.desired.value, '30');
  });
}

test('E2E_API_DISCOVERY_1: kubectl api-resources lists pods, deployments and devices with their short names', async () => {
  for (const v of KUBECTL_VERSIONS) {
    const table = parseTable(await cloud.kubectlOk(v, ['api-resources']));
    assert.deepEqual(table.headers, ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'], `kubectl ${v}`);
    const byName = (name: string, apiVersion: string): Record<string, string> => {
      const row = table.rows.find((r) => r['NAME'] === name && r['APIVERSION'] === apiVersion);
      assert.ok(row !== undefined, `kubectl ${v} api-resources lists ${name} (${apiVersion})`);
      return row;
    };
    assert.deepEqual(byName('pods', 'v1'), { NAME: 'pods', SHORTNAMES: 'po', APIVERSION: 'v1', NAMESPACED: 'true', KIND: 'Pod' });
    assert.deepEqual(byName('deployments', 'apps/v1'), { NAME: 'deployments', SHORTNAMES: 'deploy', APIVERSION: 'apps/v1', NAMESPACED: 'true', KIND: 'Deployment' });
    assert.equal(byName('devices', 'devices.kubeedge.io/v1beta1')['KIND'], 'Device');
    assert.equal(byName('devicemodels', 'devices.kubeedge.io/v1beta1')['KIND'], 'DeviceModel');
    assert.deepEqual(byName('widgets', 'e2e.kedge.io/v1'), { NAME: 'widgets', SHORTNAMES: 'wdg', APIVERSION: 'e2e.kedge.io/v1', NAMESPACED: 'true', KIND: 'Widget' });
    assert.equal(byName('namespaces', 'v1')['NAMESPACED'], 'false');
    assert.equal(byName('configmaps', 'v1')['SHORTNAMES'], 'cm');
  }
});

test('E2E_API_EXPLAIN_1: kubectl explain pod.spec.containers prints the field docs', async () => {
  for (const v of KUBECTL_VERSIONS) {
    const out = await cloud.kubectlOk(v, ['explain', 'pod.spec.containers']);
    assert.match(out, /KIND:\s+Pod/, `kubectl ${v}`);
    // OpenAPI v3 explain says FIELD and names the type; the v2 one says RESOURCE and Object.
    assert.match(out, /(FIELD|RESOURCE):\s+containers\s+<\[\](Container|Object)>/);
    assert.match(out, /FIELDS:/);
    assert.match(out, /^\s+image\s+<string>/m);
    assert.match(out, /Container image name/);
    assert.match(out, /^\s+name\s+<string>\s+-required-/m);

    const recursive = await cloud.kubectlOk(v, ['explain', 'deployment.spec.template.spec.containers.ports', '--recursive']);
    assert.match(recursive, /containerPort\s+<integer>/);
  }
});

test('E2E_API_CRD_5: raw create of a schema-violating object answers 422 Invalid with field causes', async () => {
  const r = await cloud.request({
    method: 'POST',
    path: '/apis/e2e.kedge.io/v1/namespaces/default/widgets',
    body: { apiVersion: 'e2e.kedge.io/v1', kind: 'Widget', metadata: { name: 'raw-bad' }, spec: { size: 'big', color: 'purple' } },
  });
  assert.equal(r.status, 422, r.body);
  const status = r.json<StatusBody>();
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'Invalid');
  const fields = (status.details?.causes ?? []).map((c) => c.field).sort();
  assert.deepEqual(fields, ['spec.color', 'spec.size']);
});
