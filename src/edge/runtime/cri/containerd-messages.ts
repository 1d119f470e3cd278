/**
 * containerd's own services that image import uses (content, images, snapshots, diff, leases,
 * version), as a table for the codec in protobuf.ts. It copies proto/containerd/*.proto (a subset
 * of containerd's api/, field numbers unchanged) and the three well-known types they import;
 * wire-compat.test.ts checks the two agree against protobufjs' reading of the .protos.
 */
import { defineSchema, type Schema, type ServiceType } from './protobuf.ts';

const MAP = 'map<string, string>';
const V1 = 'containerd.services.v1';
const EMPTY = 'google.protobuf.Empty';

export const CONTAINERD_TABLE = {
  'google.protobuf': {
    messages: {
      Empty: '',
      Timestamp: 'int64 seconds = 1; int32 nanos = 2',
      FieldMask: 'repeated string paths = 1',
    },
  },
  'containerd.types': {
    messages: {
      Descriptor: `string media_type = 1; string digest = 2; int64 size = 3; ${MAP} annotations = 5`,
      Mount: 'string type = 1; string source = 2; string target = 3; repeated string options = 4',
    },
  },
  [V1]: {
    enums: {
      WriteAction: 'STAT = 0; WRITE = 1; COMMIT = 2',
    },
    messages: {
      VersionResponse: 'string version = 1; string revision = 2',
      ContentInfo: `
        string digest = 1; int64 size = 2; google.protobuf.Timestamp created_at = 3;
        google.protobuf.Timestamp updated_at = 4; ${MAP} labels = 5`,
      InfoRequest: 'string digest = 1',
      InfoResponse: 'ContentInfo info = 1',
      UpdateContentRequest: 'ContentInfo info = 1; google.protobuf.FieldMask update_mask = 2',
      UpdateContentResponse: 'ContentInfo info = 1',
      WriteContentRequest: `
        WriteAction action = 1; string ref = 2; int64 total = 3; string expected = 4; int64 offset = 5;
        bytes data = 6; ${MAP} labels = 7`,
      WriteContentResponse: `
        WriteAction action = 1; google.protobuf.Timestamp started_at = 2; google.protobuf.Timestamp updated_at = 3;
        int64 offset = 4; int64 total = 5; string digest = 6`,
      AbortRequest: 'string ref = 1',
      Image: `
        string name = 1; ${MAP} labels = 2; containerd.types.Descriptor target = 3;
        google.protobuf.Timestamp created_at = 7; google.protobuf.Timestamp updated_at = 8`,
      GetImageRequest: 'string name = 1',
      GetImageResponse: 'Image image = 1',
      CreateImageRequest: 'Image image = 1',
      CreateImageResponse: 'Image image = 1',
      UpdateImageRequest: 'Image image = 1; google.protobuf.FieldMask update_mask = 2',
      UpdateImageResponse: 'Image image = 1',
      PrepareSnapshotRequest: `string snapshotter = 1; string key = 2; string parent = 3; ${MAP} labels = 4`,
      PrepareSnapshotResponse: 'repeated containerd.types.Mount mounts = 1',
      RemoveSnapshotRequest: 'string snapshotter = 1; string key = 2',
      CommitSnapshotRequest: `string snapshotter = 1; string name = 2; string key = 3; ${MAP} labels = 4`,
      StatSnapshotRequest: 'string snapshotter = 1; string key = 2',
      SnapshotInfo: `
        string name = 1; string parent = 2; int32 kind = 3; google.protobuf.Timestamp created_at = 4;
        google.protobuf.Timestamp updated_at = 5; ${MAP} labels = 6`,
      StatSnapshotResponse: 'SnapshotInfo info = 1',
      ApplyRequest: 'containerd.types.Descriptor diff = 1; repeated containerd.types.Mount mounts = 2',
      ApplyResponse: 'containerd.types.Descriptor applied = 1',
      Lease: `string id = 1; google.protobuf.Timestamp created_at = 2; ${MAP} labels = 3`,
      CreateLeaseRequest: `string id = 1; ${MAP} labels = 3`,
      CreateLeaseResponse: 'Lease lease = 1',
      DeleteLeaseRequest: 'string id = 1; bool sync = 2',
    },
  },
  'containerd.services.version.v1': {
    services: { Version: `Version(${EMPTY}) ${V1}.VersionResponse` },
  },
  'containerd.services.content.v1': {
    services: {
      Content: `
        Info(${V1}.InfoRequest) ${V1}.InfoResponse;
        Update(${V1}.UpdateContentRequest) ${V1}.UpdateContentResponse;
        Write(stream ${V1}.WriteContentRequest) stream ${V1}.WriteContentResponse;
        Abort(${V1}.AbortRequest) ${EMPTY}`,
    },
  },
  'containerd.services.images.v1': {
    services: {
      Images: `
        Get(${V1}.GetImageRequest) ${V1}.GetImageResponse;
        Create(${V1}.CreateImageRequest) ${V1}.CreateImageResponse;
        Update(${V1}.UpdateImageRequest) ${V1}.UpdateImageResponse`,
    },
  },
  'containerd.services.snapshots.v1': {
    services: {
      Snapshots: `
        Prepare(${V1}.PrepareSnapshotRequest) ${V1}.PrepareSnapshotResponse;
        Commit(${V1}.CommitSnapshotRequest) ${EMPTY};
        Remove(${V1}.RemoveSnapshotRequest) ${EMPTY};
        Stat(${V1}.StatSnapshotRequest) ${V1}.StatSnapshotResponse`,
    },
  },
  'containerd.services.diff.v1': {
    services: { Diff: `Apply(${V1}.ApplyRequest) ${V1}.ApplyResponse` },
  },
  'containerd.services.leases.v1': {
    services: {
      Leases: `
        Create(${V1}.CreateLeaseRequest) ${V1}.CreateLeaseResponse;
        Delete(${V1}.DeleteLeaseRequest) ${EMPTY}`,
    },
  },
} as const;

let schema: Schema | undefined;

/** The schema of containerd's services, built once per process. */
export function containerdSchema(): Schema {
  schema ??= defineSchema(CONTAINERD_TABLE);
  return schema;
}

/** The services image import uses, by short name. */
export type ContainerdServiceName = 'version' | 'content' | 'images' | 'snapshots' | 'diff' | 'leases';

const FULL_NAMES: Record<ContainerdServiceName, string> = {
  version: 'containerd.services.version.v1.Version',
  content: 'containerd.services.content.v1.Content',
  images: 'containerd.services.images.v1.Images',
  snapshots: 'containerd.services.snapshots.v1.Snapshots',
  diff: 'containerd.services.diff.v1.Diff',
  leases: 'containerd.services.leases.v1.Leases',
};

/** containerd's services by short name. */
export function containerdServiceTable(): Record<ContainerdServiceName, ServiceType> {
  const s = containerdSchema().services;
  return Object.fromEntries(Object.entries(FULL_NAMES).map(([k, full]) => [k, s.get(full)!])) as Record<ContainerdServiceName, ServiceType>;
}
