import { createHash } from 'node:crypto';
import { encodeSwaggerDocument } from './gnostic-v2.ts';
import type { ServedResource } from './served-resource.ts';
import { buildV2Document, type OpenApiInfo, type SwaggerDocument } from './v2.ts';
import { buildV3Documents, type V3Document } from './v3.ts';

export type { OpenApiSubresource, ServedResource } from './served-resource.ts';

/**
 * The `Content-Type` of {@link OpenApiPublisher.v2Protobuf} responses. Clients ask for it (in
 * `Accept`) as `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, but Go's media type
 * parser rejects the `@`, so kube-apiserver answers with this spelling, and kubectl fails with
 * "mime: unexpected content after media subtype" on any other.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** True when an `Accept` header asks for the v2 document as protobuf (either spelling). */
export function acceptsOpenApiV2Protobuf(accept: string | undefined): boolean {
  return accept !== undefined && /application\/com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf/.test(accept);
}

/** Options of {@link OpenApiPublisher}. */
export interface OpenApiPublisherOptions {
  /**
   * `info.version` of the documents: the Kubernetes version kedge presents.
   * @default 'unversioned'
   */
  readonly version?: string;
}

/** A serialized document with its content hash (upper-case hex SHA-512, as kube-apiserver uses). */
export interface PublishedDocument {
  readonly body: Buffer;
  readonly hash: string;
}

function hashOf(body: Buffer): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

/**
 * Serves the OpenAPI documents of whatever the API server serves at the moment: `/openapi/v2` as
 * JSON and as gnostic protobuf, the `/openapi/v3` index and one v3 document per group-version.
 * Each form is built on first request and cached until the next {@link update} (the set of
 * resources changes when CRDs come and go), so a stream of kubectl invocations costs one build.
 * Pure computation, no I/O: the HTTP layer decides headers and caching.
 */
export class OpenApiPublisher {
  readonly #info: OpenApiInfo;
  #resources: readonly ServedResource[] = [];
  #v2: SwaggerDocument | undefined;
  #v2Json: PublishedDocument | undefined;
  #v2Protobuf: Buffer | undefined;
  #v3: Map<string, PublishedDocument> | undefined;
  #v3Index: Buffer | undefined;

  constructor(options: OpenApiPublisherOptions = {}) {
    this.#info = { version: options.version ?? 'unversioned' };
  }

  /** Replaces the set of served resources; every document is rebuilt on its next request. */
  update(resources: readonly ServedResource[]): void {
    this.#resources = [...resources];
    this.#v2 = undefined;
    this.#v2Json = undefined;
    this.#v2Protobuf = undefined;
    this.#v3 = undefined;
    this.#v3Index = undefined;
  }

  /** The Swagger 2.0 document as JSON. */
  v2Json(): Buffer {
    return this.#v2JsonDocument().body;
  }

  /** The Swagger 2.0 document as a gnostic `openapi.v2.Document` protobuf message. */
  v2Protobuf(): Buffer {
    this.#v2Protobuf ??= encodeSwaggerDocument(this.#v2Document());
    return this.#v2Protobuf;
  }

  /** Entity tag of the v2 document (both encodings describe the same content), unquoted. */
  v2ETag(): string {
    return this.#v2JsonDocument().hash;
  }

  /**
   * The `/openapi/v3` discovery document: `{ paths: { "apis/apps/v1": { serverRelativeURL:
   * "/openapi/v3/apis/apps/v1?hash=<HASH>" } } }`. Clients cache each document by its hash.
   */
  v3Index(): Buffer {
    if (this.#v3Index === undefined) {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const [path, doc] of this.#v3Documents()) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${doc.hash}` };
      this.#v3Index = Buffer.from(JSON.stringify({ paths }));
    }
    return this.#v3Index;
  }

  /** The v3 document of one group-version (`api/v1`, `apis/apps/v1`), or undefined if none is served. */
  v3GroupVersion(path: string): PublishedDocument | undefined {
    return this.#v3Documents().get(path.replace(/^\/+|\/+$/g, ''));
  }

  #v2Document(): SwaggerDocument {
    this.#v2 ??= buildV2Document(this.#resources, this.#info);
    return this.#v2;
  }

  #v2JsonDocument(): PublishedDocument {
    if (this.#v2Json === undefined) {
      const body = Buffer.from(JSON.stringify(this.#v2Document()));
      this.#v2Json = { body, hash: hashOf(body) };
    }
    return this.#v2Json;
  }

  #v3Documents(): Map<string, PublishedDocument> {
    if (this.#v3 === undefined) {
      const docs = new Map<string, PublishedDocument>();
      for (const [path, doc] of buildV3Documents(this.#resources, this.#info)) docs.set(path, serialize(doc));
      this.#v3 = docs;
    }
    return this.#v3;
  }
}

function serialize(doc: V3Document): PublishedDocument {
  const body = Buffer.from(JSON.stringify(doc));
  return { body, hash: hashOf(body) };
}
