import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../errors.ts';
import { decodeKubernetesProtobuf, decodeMessage, formatGoDuration } from './decode.ts';
import { body, bytes, double, entry, join, message, packed, string, varint, varintBytes, type Encoded } from './test-encoder.ts';
import fixtures from './testdata/kubectl-bodies.json' with { type: 'json' };

/** Encodes a `metav1.Time`/`MicroTime` message as field `field`. */
function time(field: number, seconds: number | bigint, nanos = 0): Encoded {
  return message(field, varint(1, seconds), ...(nanos === 0 ? [] : [varint(2, nanos)]));
}

/** An `IntOrString` message field. */
function intOrString(field: number, value: number | string): Encoded {
  return typeof value === 'number' ? message(field, varint(1, 0), varint(2, value)) : message(field, varint(1, 1), string(3, value));
}

function decode(b: Uint8Array): Record<string, unknown> {
  return decodeKubernetesProtobuf(b).object;
}

/** Asserts the body is refused with 400 and a message matching `pattern`. */
function refused(b: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeKubernetesProtobuf(b),
    (err: unknown) => err instanceof ApiError && err.httpStatus === 400 && err.code === 'API_BAD_REQUEST' && pattern.test(err.message),
  );
}

describe('decodeKubernetesProtobuf: real kubectl bodies', () => {
  for (const [label, f] of Object.entries(fixtures.bodies)) {
    it(`PB_KUBECTL_${label}: kubectl 1.33's protobuf decodes to kubectl 1.31's JSON for "${f.command}"`, () => {
      const decoded = decodeKubernetesProtobuf(Buffer.from(f.protobuf, 'base64'));
      assert.deepEqual(decoded.object, f.json);
      // Same key order too, as Go's encoding/json writes it.
      assert.equal(JSON.stringify(decoded.object), JSON.stringify(f.json));
      assert.equal(decoded.kind, f.json.kind);
      assert.equal(decoded.apiVersion, f.json.apiVersion);
    });
  }
});

describe('decodeKubernetesProtobuf: envelope', () => {
  it('puts kind and apiVersion first, as a JSON client sends them', () => {
    const out = decodeKubernetesProtobuf(body('v1', 'ConfigMap', message(1, string(1, 'cm')), entry(2, 'k', string(2, 'v'))));
    assert.equal(out.kind, 'ConfigMap');
    assert.equal(out.apiVersion, 'v1');
    assert.deepEqual(Object.keys(out.object), ['kind', 'apiVersion', 'metadata', 'data']);
    assert.deepEqual(out.object, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'cm', creationTimestamp: null }, data: { k: 'v' } });
  });

  it('decodes DeleteOptions in whatever version the client named', () => {
    const opts = decode(body('apps/v1', 'DeleteOptions', varint(1, 0), string(4, 'Foreground'), string(5, 'All'), message(2, string(1, 'u-1'))));
    assert.deepEqual(opts, { kind: 'DeleteOptions', apiVersion: 'apps/v1', gracePeriodSeconds: 0, preconditions: { uid: 'u-1' }, propagationPolicy: 'Foreground', dryRun: ['All'] });
  });

  it('refuses a body without the k8s\\0 prefix', () => {
    refused(new TextEncoder().encode('{"kind":"Pod"}'), /k8s\\0 prefix/);
    refused(new Uint8Array(0), /k8s\\0 prefix/);
  });

  it('refuses kinds it does not decode, and an envelope without a kind', () => {
    refused(body('example.com/v1', 'Widget'), /Widget in example\.com\/v1 cannot be sent as protobuf/);
    refused(body('v1', 'toString'), /cannot be sent as protobuf/);
    refused(body('v1', ''), /does not name the apiVersion and kind/);
  });

  it('refuses an encoded or non-protobuf payload', () => {
    const magic = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);
    refused(join(magic, message(1, string(1, 'v1'), string(2, 'Pod')), string(3, 'gzip')), /content encoding "gzip"/);
    refused(join(magic, message(1, string(1, 'v1'), string(2, 'Pod')), string(4, 'application/json')), /holds "application\/json"/);
  });
});

describe('decodeKubernetesProtobuf: presence (Go pointers and omitempty)', () => {
  it('keeps a zero-valued pointer that is present (replicas: 0) and drops one that is absent', () => {
    const zero = decode(body('apps/v1', 'Deployment', message(2, varint(1, 0))));
    assert.deepEqual((zero['spec'] as Record<string, unknown>)['replicas'], 0);
    const absent = decode(body('apps/v1', 'Deployment', message(2, varint(5, 0))));
    assert.equal('replicas' in (absent['spec'] as object), false);
    assert.equal('minReadySeconds' in (absent['spec'] as object), false, 'a zero non-pointer with omitempty is left out');
  });

  it('writes fields without omitempty even when the wire leaves them out', () => {
    const pod = decode(body('v1', 'Pod', message(2, message(2, message(6, varint(3, 0))))));
    assert.deepEqual((pod['spec'] as Record<string, unknown>)['containers'], [{ name: '', ports: [{ containerPort: 0 }], resources: {} }]);
  });

  it('writes null for an absent pointer or list without omitempty (selector, nodeSelectorTerms)', () => {
    const d = decode(body('apps/v1', 'Deployment', message(2)));
    assert.equal((d['spec'] as Record<string, unknown>)['selector'], null);
    const affinity = decodeMessage(message(1, message(1)), 'core.v1.Affinity');
    assert.deepEqual(affinity, { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: null } } });
  });

  it('writes structs Go embeds by value (status: {}, strategy: {}) and leaves out absent pointer structs', () => {
    const d = decode(body('apps/v1', 'Deployment'));
    assert.deepEqual(d, { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { creationTimestamp: null }, spec: { selector: null, template: { metadata: { creationTimestamp: null }, spec: { containers: null } }, strategy: {} }, status: {} });
  });

  it('lets the last value of a repeated scalar win and merges a repeated singular message', () => {
    const cm = decode(body('v1', 'ConfigMap', message(1, string(1, 'a')), message(1, string(3, 'ns')), message(1, string(1, 'b'))));
    assert.deepEqual(cm['metadata'], { name: 'b', namespace: 'ns', creationTimestamp: null });
  });

  it('skips fields it does not know, as an older API server does', () => {
    const cm = decode(body('v1', 'ConfigMap', message(1, string(1, 'a'), string(99, 'future'), varint(100, 1)), varint(77, 5)));
    assert.deepEqual(cm['metadata'], { name: 'a', creationTimestamp: null });
  });
});

describe('decodeKubernetesProtobuf: special types', () => {
  it('Time: null when empty, RFC 3339 UTC with whole seconds otherwise', () => {
    const meta = (fields: Encoded[]): unknown => decode(body('v1', 'Namespace', message(1, ...fields)))['metadata'];
    assert.deepEqual(meta([message(8)]), { creationTimestamp: null });
    assert.deepEqual(meta([time(8, 1_700_000_000, 999_999_999)]), { creationTimestamp: '2023-11-14T22:13:20Z' });
    assert.deepEqual(meta([time(8, 0)]), { creationTimestamp: '1970-01-01T00:00:00Z' });
    assert.deepEqual(meta([time(8, -62_135_596_800)]), { creationTimestamp: null }, "Go's zero time");
    assert.deepEqual(meta([time(8, 1), time(9, 86_400)]), { creationTimestamp: '1970-01-01T00:00:01Z', deletionTimestamp: '1970-01-02T00:00:00Z' });
    refused(body('v1', 'Namespace', message(1, time(8, 253_402_300_800))), /outside the years 0 to 9999/);
  });

  it('MicroTime: microseconds, truncated; nanoseconds past a second carry into the seconds', () => {
    const ev = decode(body('v1', 'Event', time(10, 1_700_000_000, 123_456_789)));
    assert.equal(ev['eventTime'], '2023-11-14T22:13:20.123456Z');
    const lease = decode(body('coordination.k8s.io/v1', 'Lease', message(2, string(1, 'me'), varint(2, 40), time(4, 10, 1_500_000_000))));
    assert.deepEqual(lease['spec'], { holderIdentity: 'me', leaseDurationSeconds: 40, renewTime: '1970-01-01T00:00:11.500000Z' });
    const empty = decode(body('v1', 'Event'));
    assert.equal(empty['eventTime'], null);
    assert.equal(empty['firstTimestamp'], null);
    assert.equal(empty['reportingComponent'], '', 'no omitempty');
  });

  it('Duration: as Go prints time.Duration', () => {
    assert.equal(decodeMessage(varint(1, 90_000_000_000), 'meta.v1.Duration'), '1m30s');
    for (const [ns, text] of [
      [0n, '0s'],
      [1n, '1ns'],
      [1_500n, '1.5µs'],
      [2_000_000n, '2ms'],
      [1_500_000_000n, '1.5s'],
      [3_600_000_000_000n, '1h0m0s'],
      [3_723_000_000_001n, '1h2m3.000000001s'],
      [-1_500_000_000n, '-1.5s'],
    ] as const) {
      assert.equal(formatGoDuration(ns), text);
    }
  });

  it('Quantity: its string; a zero quantity is "0"', () => {
    const pod = decode(
      body('v1', 'Pod', message(2, message(2, string(1, 'c'), message(8, entry(1, 'cpu', message(2, string(1, '500m'))), entry(2, 'memory', message(2)))))),
    );
    const c = ((pod['spec'] as Record<string, unknown>)['containers'] as Record<string, unknown>[])[0]!;
    assert.deepEqual(c['resources'], { limits: { cpu: '500m' }, requests: { memory: '0' } });
  });

  it('IntOrString: a number or a string by its type; an unknown type is refused', () => {
    const svc = decode(body('v1', 'Service', message(2, message(1, varint(3, 80), intOrString(4, 8080)), message(1, varint(3, 443), intOrString(4, 'https')))));
    assert.deepEqual((svc['spec'] as Record<string, unknown>)['ports'], [
      { port: 80, targetPort: 8080 },
      { port: 443, targetPort: 'https' },
    ]);
    const d = decode(body('apps/v1', 'Deployment', message(2, message(4, string(1, 'RollingUpdate'), message(2, intOrString(1, '25%'), intOrString(2, 0))))));
    assert.deepEqual((d['spec'] as Record<string, unknown>)['strategy'], { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 0 } });
    refused(body('v1', 'Service', message(2, message(1, message(4, varint(1, 7))))), /unknown type 7/);
  });

  it('bytes: base64 in JSON (Secret data), a map<string, bytes> entry per key', () => {
    const s = decode(body('v1', 'Secret', entry(2, 'bin', bytes(2, Uint8Array.of(0, 1, 0xff))), entry(2, 'empty'), entry(4, 'plain', string(2, 'text')), string(3, 'Opaque')));
    assert.deepEqual(s, { kind: 'Secret', apiVersion: 'v1', metadata: { creationTimestamp: null }, data: { bin: 'AAH/', empty: '' }, stringData: { plain: 'text' }, type: 'Opaque' });
  });

  it('maps: a later entry for the same key wins', () => {
    const cm = decode(body('v1', 'ConfigMap', entry(2, 'k', string(2, 'one')), entry(2, 'k', string(2, 'two'))));
    assert.deepEqual(cm['data'], { k: 'two' });
  });

  it('repeated numbers: packed or one by one, negative int64 included', () => {
    const ctx = (field: Encoded): unknown => ((decode(body('v1', 'Pod', message(2, message(14, field))))['spec'] as Record<string, unknown>)['securityContext'] as Record<string, unknown>)['supplementalGroups'];
    assert.deepEqual(ctx(packed(4, [1000, 2000, -1])), [1000, 2000, -1]);
    assert.deepEqual(ctx(join(varint(4, 7), varint(4, 8))), [7, 8]);
  });

  it('int32 sent sign-extended to 10 bytes reads negative', () => {
    const d = decode(body('apps/v1', 'Deployment', message(2, varint(1, -3))));
    assert.equal((d['spec'] as Record<string, unknown>)['replicas'], -3);
  });

  it('inline structs join their parent (Volume.volumeSource, ConfigMapVolumeSource.localObjectReference)', () => {
    const pod = decode(body('v1', 'Pod', message(2, message(1, string(1, 'cfg'), message(2, message(19, message(1, string(1, 'my-cm')), varint(3, 0o644)))))));
    assert.deepEqual((pod['spec'] as Record<string, unknown>)['volumes'], [{ name: 'cfg', configMap: { name: 'my-cm', defaultMode: 420 } }]);
  });

  it('RawExtension: embedded JSON, an embedded protobuf object, or null', () => {
    const json = new TextEncoder().encode('{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}');
    assert.deepEqual(decodeMessage(join(string(1, 'ADDED'), message(2, bytes(1, json))), 'meta.v1.WatchEvent'), {
      type: 'ADDED',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' } },
    });
    const embedded = body('v1', 'ConfigMap', message(1, string(1, 'inner')));
    assert.deepEqual(decodeMessage(join(string(1, 'ADDED'), message(2, bytes(1, embedded))), 'meta.v1.WatchEvent'), {
      type: 'ADDED',
      object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'inner', creationTimestamp: null } },
    });
    assert.deepEqual(decodeMessage(string(1, 'DELETED'), 'meta.v1.WatchEvent'), { type: 'DELETED', object: null });
    assert.throws(() => decodeMessage(message(2, bytes(1, new TextEncoder().encode('{oops'))), 'meta.v1.WatchEvent'), /does not hold valid JSON/);
  });

  it('FieldsV1: the managed fields JSON it holds', () => {
    const meta = decode(
      body('v1', 'ConfigMap', message(1, string(1, 'cm'), message(17, string(1, 'kubectl'), string(2, 'Update'), string(3, 'v1'), time(4, 0), string(6, 'FieldsV1'), message(7, bytes(1, new TextEncoder().encode('{"f:data":{".":{}}}')))))),
    )['metadata'];
    assert.deepEqual(meta, {
      name: 'cm',
      creationTimestamp: null,
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '1970-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {} } } }],
    });
  });

  it('doubles; NaN and infinities, which JSON cannot hold, are refused', () => {
    const schema = (fields: Encoded[]): Uint8Array =>
      body('apiextensions.k8s.io/v1', 'CustomResourceDefinition', message(2, message(7, string(1, 'v1'), message(4, message(1, ...fields)))));
    const crd = decode(schema([double(9, 2.5), varint(10, true)]));
    const v = (((crd['spec'] as Record<string, unknown>)['versions'] as Record<string, unknown>[])[0]!['schema'] as Record<string, unknown>)['openAPIV3Schema'];
    assert.deepEqual(v, { maximum: 2.5, exclusiveMaximum: true });
    refused(schema([double(9, Number.NaN)]), /which JSON cannot represent/);
  });

  it('CRD schemas: $ref, x-kubernetes-* names, JSON values, and the three union types', () => {
    const props = (...fields: Encoded[]): Encoded => message(2, ...fields);
    const crd = decode(
      body(
        'apiextensions.k8s.io/v1',
        'CustomResourceDefinition',
        message(1, string(1, 'widgets.example.com')),
        message(
          2,
          string(1, 'example.com'),
          message(3, string(1, 'widgets'), string(4, 'Widget')),
          string(4, 'Namespaced'),
          message(
            7,
            string(1, 'v1'),
            varint(2, true),
            varint(3, true),
            message(
              4,
              message(
                1,
                string(5, 'object'),
                varint(38, true),
                entry(29, 'size', props(string(5, 'integer'), message(8, bytes(1, new TextEncoder().encode('3'))), message(20, bytes(1, new TextEncoder().encode('1'))), message(20, bytes(1, new TextEncoder().encode('3'))))),
                entry(29, 'tags', props(string(5, 'array'), message(24, message(1, string(5, 'string'))))),
                entry(29, 'pair', props(string(5, 'array'), message(24, message(2, string(5, 'string')), message(2, string(5, 'integer'))))),
                entry(29, 'labels', props(string(5, 'object'), message(30, message(2, string(5, 'string'))))),
                entry(29, 'closed', props(string(5, 'object'), message(30, varint(1, false)))),
                entry(29, 'port', props(varint(40, true), string(3, '#/definitions/port'))),
                entry(32, 'a', message(2, string(2, 'b'), string(2, 'c'))),
                entry(32, 'd', message(2, message(1, string(5, 'object')))),
              ),
            ),
          ),
        ),
      ),
    );
    const version = ((crd['spec'] as Record<string, unknown>)['versions'] as Record<string, unknown>[])[0]!;
    assert.deepEqual(version, {
      name: 'v1',
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            size: { type: 'integer', default: 3, enum: [1, 3] },
            tags: { type: 'array', items: { type: 'string' } },
            pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            closed: { type: 'object', additionalProperties: false },
            port: { $ref: '#/definitions/port', 'x-kubernetes-int-or-string': true },
          },
          dependencies: { a: ['b', 'c'], d: { type: 'object' } },
          'x-kubernetes-preserve-unknown-fields': true,
        },
      },
    });
  });

  it('Scale: spec.replicas drops a zero, status.replicas keeps it (no omitempty)', () => {
    const s = decode(body('autoscaling/v1', 'Scale', message(1, string(1, 'd')), message(2, varint(1, 0)), message(3)));
    assert.deepEqual(s, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'd', creationTimestamp: null }, spec: {}, status: { replicas: 0 } });
  });
});

describe('decodeKubernetesProtobuf: malformed and hostile input', () => {
  it('refuses a field with the wrong wire type', () => {
    refused(body('v1', 'ConfigMap', varint(1, 5)), /field metadata \(1\) of core\.v1\.ConfigMap has wire type 0/);
    refused(body('v1', 'ConfigMap', message(1, varint(1, 5))), /field name \(1\) of meta\.v1\.ObjectMeta has wire type 0/);
  });

  it('refuses truncated messages at any depth', () => {
    const good = body('apps/v1', 'Deployment', message(1, string(1, 'name')), message(2, varint(1, 3)));
    for (let cut = 4; cut < good.length; cut++) {
      const b = good.subarray(0, cut);
      try {
        decodeKubernetesProtobuf(b);
      } catch (err) {
        assert.ok(err instanceof ApiError && err.httpStatus === 400, `cut at ${cut}: ${String(err)}`);
      }
    }
  });

  it('refuses nesting deeper than the limit without exhausting the stack', () => {
    let schema: Encoded = string(5, 'object');
    for (let i = 0; i < 200; i++) schema = message(28, schema);
    const b = body('apiextensions.k8s.io/v1', 'CustomResourceDefinition', message(2, message(7, message(4, bytes(1, schema)))));
    refused(b, /nest deeper than/);
  });

  it('refuses a body that expands into far more values than its size', () => {
    // Each 4-byte item is a Node whose empty status still holds daemonEndpoints.kubeletEndpoint
    // and nodeInfo: eight values for four bytes.
    const item = message(2, message(3));
    const many = join(...Array.from({ length: 20_000 }, () => item));
    refused(body('v1', 'NodeList', many), /more values than its size allows/);
  });

  it('never allocates what a length claims before checking it', () => {
    const claim = join(Uint8Array.of(0x6b, 0x38, 0x73, 0x00, (2 << 3) | 2), varintBytes(2 ** 40));
    refused(claim, /runs past the end/);
  });

  it('survives random bytes after the prefix', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 256;
    for (let i = 0; i < 500; i++) {
      const tail = Uint8Array.from({ length: 1 + (i % 64) }, rand);
      try {
        decodeKubernetesProtobuf(join(Uint8Array.of(0x6b, 0x38, 0x73, 0x00), tail));
      } catch (err) {
        assert.ok(err instanceof ApiError && err.httpStatus === 400, String(err));
      }
    }
  });
});
