import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { ProtoWriter } from './proto-writer.ts';
import type { SwaggerDocument, SwaggerOperation, SwaggerParameter, SwaggerPathItem } from './v2.ts';

/**
 * Encodes a Swagger 2.0 document as gnostic's `openapi.v2.Document` protobuf message
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), the form kubectl downloads for
 * client-side validation, `explain` (v2) and strategic merge patch metadata.
 *
 * Field numbers are those of gnostic's `openapiv2/OpenAPIv2.proto`; only the messages kube-apiserver
 * fills are written. Vendor extensions and other free-form values travel as `Any.yaml`; JSON is a
 * subset of YAML, so that is their JSON text.
 */
export function encodeSwaggerDocument(doc: SwaggerDocument): Buffer {
  const w = new ProtoWriter();
  w.string(1, doc.swagger);
  w.message(2, (info) => info.string(1, doc.info.title).string(2, doc.info.version));
  w.message(8, (paths) => {
    for (const [name, item] of Object.entries(doc.paths)) paths.message(2, (named) => named.string(1, name).message(2, (p) => pathItem(p, item)));
  });
  w.message(9, (defs) => {
    for (const [name, schema] of Object.entries(doc.definitions)) defs.message(1, (named) => named.string(1, name).message(2, (s) => encodeSchema(s, schema)));
  });
  for (const requirement of doc.security) {
    w.message(12, (req) => {
      for (const [name, scopes] of Object.entries(requirement)) req.message(1, (named) => named.string(1, name).message(2, (arr) => arr.strings(1, scopes)));
    });
  }
  w.message(13, (defs) => {
    for (const [name, scheme] of Object.entries(doc.securityDefinitions)) {
      defs.message(1, (named) =>
        named.string(1, name).message(2, (item) => item.message(2, (key) => key.string(1, scheme.type).string(2, scheme.name).string(3, scheme.in).string(4, scheme.description))),
      );
    }
  });
  return w.finish();
}

function yamlAny(w: ProtoWriter, value: unknown): void {
  w.string(2, `${JSON.stringify(value)}\n`);
}

function vendorExtensions(w: ProtoWriter, field: number, node: object): void {
  for (const [name, value] of Object.entries(node)) {
    if (name.startsWith('x-') && value !== undefined) w.message(field, (named) => named.string(1, name).message(2, (any) => yamlAny(any, value)));
  }
}

const METHOD_FIELDS = { get: 2, put: 3, post: 4, delete: 5, patch: 8 } as const;

function pathItem(w: ProtoWriter, item: SwaggerPathItem): void {
  for (const [method, field] of Object.entries(METHOD_FIELDS) as [keyof typeof METHOD_FIELDS, number][]) {
    const op = item[method];
    if (op !== undefined) w.message(field, (o) => operation(o, op));
  }
  for (const p of item.parameters ?? []) w.message(9, (pi) => parameter(pi, p));
}

function operation(w: ProtoWriter, op: SwaggerOperation): void {
  w.strings(1, op.tags);
  w.string(3, op.description);
  w.string(5, op.operationId);
  w.strings(6, op.produces);
  w.strings(7, op.consumes);
  for (const p of op.parameters ?? []) w.message(8, (pi) => parameter(pi, p));
  w.message(9, (responses) => {
    for (const [code, response] of Object.entries(op.responses)) {
      responses.message(1, (named) =>
        named.string(1, code).message(2, (value) =>
          value.message(1, (r) => {
            r.string(1, response.description);
            const schema = response.schema;
            if (schema !== undefined) r.message(2, (item) => item.message(1, (s) => encodeSchema(s, schema)));
          }),
        ),
      );
    }
  });
  w.strings(10, op.schemes);
  vendorExtensions(w, 13, op);
}

/** ParametersItem → Parameter → BodyParameter | NonBodyParameter (query or path sub-schema). */
function parameter(w: ProtoWriter, p: SwaggerParameter): void {
  w.message(1, (param) => {
    if (p.in === 'body') {
      const schema = p.schema ?? {};
      param.message(1, (b) => b.string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required).message(5, (s) => encodeSchema(s, schema)));
      return;
    }
    // QueryParameterSubSchema and PathParameterSubSchema number type and uniqueItems differently.
    const query = p.in === 'query';
    param.message(2, (nonBody) =>
      nonBody.message(query ? 3 : 4, (s) =>
        s
          .bool(1, p.required)
          .string(2, p.in)
          .string(3, p.description)
          .string(4, p.name)
          .string(query ? 6 : 5, p.type)
          .bool(query ? 20 : 19, p.uniqueItems),
      ),
    );
  });
}

/** gnostic `Schema`. SchemaNode keywords v2 cannot carry (oneOf, nullable, ...) are not written. */
export function encodeSchema(w: ProtoWriter, node: SchemaNode): void {
  w.string(1, node.$ref);
  w.string(2, node.format);
  w.string(4, node.description);
  if (node.default !== undefined) w.message(5, (any) => yamlAny(any, node.default));
  w.double(6, node.multipleOf);
  w.double(7, node.maximum);
  w.bool(8, node.exclusiveMaximum);
  w.double(9, node.minimum);
  w.bool(10, node.exclusiveMinimum);
  w.int64(11, node.maxLength);
  w.int64(12, node.minLength);
  w.string(13, node.pattern);
  w.int64(14, node.maxItems);
  w.int64(15, node.minItems);
  w.bool(16, node.uniqueItems);
  w.int64(17, node.maxProperties);
  w.int64(18, node.minProperties);
  w.strings(19, node.required);
  for (const value of node.enum ?? []) w.message(20, (any) => yamlAny(any, value));
  const additional = node.additionalProperties;
  if (additional !== undefined) {
    w.message(21, (item) => (typeof additional === 'boolean' ? item.bool(2, additional, true) : item.message(1, (s) => encodeSchema(s, additional))));
  }
  if (node.type !== undefined) w.message(22, (t) => t.strings(1, [node.type!]));
  const items = node.items;
  if (items !== undefined) w.message(23, (item) => item.message(1, (s) => encodeSchema(s, items)));
  for (const each of node.allOf ?? []) w.message(24, (s) => encodeSchema(s, each));
  const properties = node.properties;
  if (properties !== undefined) {
    w.message(25, (props) => {
      for (const [name, schema] of Object.entries(properties)) props.message(1, (named) => named.string(1, name).message(2, (s) => encodeSchema(s, schema)));
    });
  }
  vendorExtensions(w, 31, node);
}
