/**
 * The CRI (runtime.v1) messages and services the edge uses, as a table for the codec in
 * protobuf.ts. It copies proto/api.proto (itself a subset of k8s.io/cri-api's api.proto, field
 * numbers unchanged) line for line; wire-compat.test.ts checks the two agree, field by field,
 * against protobufjs' reading of the .proto.
 */
import { defineSchema, type MessageType, type Schema, type ServiceType } from './protobuf.ts';

const MAP = 'map<string, string>';

export const CRI_TABLE = {
  'runtime.v1': {
    services: {
      RuntimeService: `
        Version(VersionRequest) VersionResponse;
        RunPodSandbox(RunPodSandboxRequest) RunPodSandboxResponse;
        StopPodSandbox(StopPodSandboxRequest) StopPodSandboxResponse;
        RemovePodSandbox(RemovePodSandboxRequest) RemovePodSandboxResponse;
        PodSandboxStatus(PodSandboxStatusRequest) PodSandboxStatusResponse;
        ListPodSandbox(ListPodSandboxRequest) ListPodSandboxResponse;
        CreateContainer(CreateContainerRequest) CreateContainerResponse;
        StartContainer(StartContainerRequest) StartContainerResponse;
        StopContainer(StopContainerRequest) StopContainerResponse;
        RemoveContainer(RemoveContainerRequest) RemoveContainerResponse;
        ListContainers(ListContainersRequest) ListContainersResponse;
        ContainerStatus(ContainerStatusRequest) ContainerStatusResponse;
        ExecSync(ExecSyncRequest) ExecSyncResponse;
        Exec(ExecRequest) ExecResponse;
        PortForward(PortForwardRequest) PortForwardResponse;
        Status(StatusRequest) StatusResponse`,
      ImageService: `
        ListImages(ListImagesRequest) ListImagesResponse;
        ImageStatus(ImageStatusRequest) ImageStatusResponse;
        PullImage(PullImageRequest) PullImageResponse;
        RemoveImage(RemoveImageRequest) RemoveImageResponse`,
    },
    enums: {
      Protocol: 'TCP = 0; UDP = 1; SCTP = 2',
      MountPropagation: 'PROPAGATION_PRIVATE = 0; PROPAGATION_HOST_TO_CONTAINER = 1; PROPAGATION_BIDIRECTIONAL = 2',
      NamespaceMode: 'POD = 0; CONTAINER = 1; NODE = 2; TARGET = 3',
      PodSandboxState: 'SANDBOX_READY = 0; SANDBOX_NOTREADY = 1',
      ContainerState: 'CONTAINER_CREATED = 0; CONTAINER_RUNNING = 1; CONTAINER_EXITED = 2; CONTAINER_UNKNOWN = 3',
    },
    messages: {
      VersionRequest: 'string version = 1',
      VersionResponse: 'string version = 1; string runtime_name = 2; string runtime_version = 3; string runtime_api_version = 4',
      DNSConfig: 'repeated string servers = 1; repeated string searches = 2; repeated string options = 3',
      PortMapping: 'Protocol protocol = 1; int32 container_port = 2; int32 host_port = 3; string host_ip = 4',
      Mount: 'string container_path = 1; string host_path = 2; bool readonly = 3; bool selinux_relabel = 4; MountPropagation propagation = 5',
      NamespaceOption: 'NamespaceMode network = 1; NamespaceMode pid = 2; NamespaceMode ipc = 3; string target_id = 4',
      Int64Value: 'int64 value = 1',
      LinuxSandboxSecurityContext: `
        NamespaceOption namespace_options = 1; Int64Value run_as_user = 3; bool readonly_rootfs = 4;
        repeated int64 supplemental_groups = 5; bool privileged = 6; Int64Value run_as_group = 8`,
      LinuxPodSandboxConfig: `string cgroup_parent = 1; LinuxSandboxSecurityContext security_context = 2; ${MAP} sysctls = 3`,
      PodSandboxMetadata: 'string name = 1; string uid = 2; string namespace = 3; uint32 attempt = 4',
      PodSandboxConfig: `
        PodSandboxMetadata metadata = 1; string hostname = 2; string log_directory = 3; DNSConfig dns_config = 4;
        repeated PortMapping port_mappings = 5; ${MAP} labels = 6; ${MAP} annotations = 7; LinuxPodSandboxConfig linux = 8`,
      RunPodSandboxRequest: 'PodSandboxConfig config = 1; string runtime_handler = 2',
      RunPodSandboxResponse: 'string pod_sandbox_id = 1',
      StopPodSandboxRequest: 'string pod_sandbox_id = 1',
      StopPodSandboxResponse: '',
      RemovePodSandboxRequest: 'string pod_sandbox_id = 1',
      RemovePodSandboxResponse: '',
      PodSandboxStatusRequest: 'string pod_sandbox_id = 1; bool verbose = 2',
      PodIP: 'string ip = 1',
      PodSandboxNetworkStatus: 'string ip = 1; repeated PodIP additional_ips = 2',
      Namespace: 'NamespaceOption options = 2',
      LinuxPodSandboxStatus: 'Namespace namespaces = 1',
      PodSandboxStatus: `
        string id = 1; PodSandboxMetadata metadata = 2; PodSandboxState state = 3; int64 created_at = 4;
        PodSandboxNetworkStatus network = 5; LinuxPodSandboxStatus linux = 6; ${MAP} labels = 7; ${MAP} annotations = 8;
        string runtime_handler = 9`,
      PodSandboxStatusResponse: `PodSandboxStatus status = 1; ${MAP} info = 2`,
      PodSandboxStateValue: 'PodSandboxState state = 1',
      PodSandboxFilter: `string id = 1; PodSandboxStateValue state = 2; ${MAP} label_selector = 3`,
      ListPodSandboxRequest: 'PodSandboxFilter filter = 1',
      PodSandbox: `
        string id = 1; PodSandboxMetadata metadata = 2; PodSandboxState state = 3; int64 created_at = 4;
        ${MAP} labels = 5; ${MAP} annotations = 6; string runtime_handler = 7`,
      ListPodSandboxResponse: 'repeated PodSandbox items = 1',
      ImageSpec: `string image = 1; ${MAP} annotations = 2`,
      KeyValue: 'string key = 1; string value = 2',
      LinuxContainerResources: `
        int64 cpu_period = 1; int64 cpu_quota = 2; int64 cpu_shares = 3; int64 memory_limit_in_bytes = 4;
        int64 oom_score_adj = 5; string cpuset_cpus = 6; string cpuset_mems = 7; ${MAP} unified = 9;
        int64 memory_swap_limit_in_bytes = 10`,
      Capability: 'repeated string add_capabilities = 1; repeated string drop_capabilities = 2',
      LinuxContainerSecurityContext: `
        Capability capabilities = 1; bool privileged = 2; NamespaceOption namespace_options = 3;
        Int64Value run_as_user = 5; string run_as_username = 6; bool readonly_rootfs = 7;
        repeated int64 supplemental_groups = 8; bool no_new_privs = 11; Int64Value run_as_group = 12`,
      LinuxContainerConfig: 'LinuxContainerResources resources = 1; LinuxContainerSecurityContext security_context = 2',
      ContainerMetadata: 'string name = 1; uint32 attempt = 2',
      ContainerConfig: `
        ContainerMetadata metadata = 1; ImageSpec image = 2; repeated string command = 3; repeated string args = 4;
        string working_dir = 5; repeated KeyValue envs = 6; repeated Mount mounts = 7; ${MAP} labels = 9;
        ${MAP} annotations = 10; string log_path = 11; bool stdin = 12; bool stdin_once = 13; bool tty = 14;
        LinuxContainerConfig linux = 15`,
      CreateContainerRequest: 'string pod_sandbox_id = 1; ContainerConfig config = 2; PodSandboxConfig sandbox_config = 3',
      CreateContainerResponse: 'string container_id = 1',
      StartContainerRequest: 'string container_id = 1',
      StartContainerResponse: '',
      StopContainerRequest: 'string container_id = 1; int64 timeout = 2',
      StopContainerResponse: '',
      RemoveContainerRequest: 'string container_id = 1',
      RemoveContainerResponse: '',
      ContainerStateValue: 'ContainerState state = 1',
      ContainerFilter: `string id = 1; ContainerStateValue state = 2; string pod_sandbox_id = 3; ${MAP} label_selector = 4`,
      ListContainersRequest: 'ContainerFilter filter = 1',
      Container: `
        string id = 1; string pod_sandbox_id = 2; ContainerMetadata metadata = 3; ImageSpec image = 4;
        string image_ref = 5; ContainerState state = 6; int64 created_at = 7; ${MAP} labels = 8; ${MAP} annotations = 9`,
      ListContainersResponse: 'repeated Container containers = 1',
      ContainerStatusRequest: 'string container_id = 1; bool verbose = 2',
      ContainerStatus: `
        string id = 1; ContainerMetadata metadata = 2; ContainerState state = 3; int64 created_at = 4;
        int64 started_at = 5; int64 finished_at = 6; int32 exit_code = 7; ImageSpec image = 8; string image_ref = 9;
        string reason = 10; string message = 11; ${MAP} labels = 12; ${MAP} annotations = 13;
        repeated Mount mounts = 14; string log_path = 15`,
      ContainerStatusResponse: `ContainerStatus status = 1; ${MAP} info = 2`,
      ExecSyncRequest: 'string container_id = 1; repeated string cmd = 2; int64 timeout = 3',
      ExecSyncResponse: 'bytes stdout = 1; bytes stderr = 2; int32 exit_code = 3',
      ExecRequest: 'string container_id = 1; repeated string cmd = 2; bool tty = 3; bool stdin = 4; bool stdout = 5; bool stderr = 6',
      ExecResponse: 'string url = 1',
      PortForwardRequest: 'string pod_sandbox_id = 1; repeated int32 port = 2',
      PortForwardResponse: 'string url = 1',
      ImageFilter: 'ImageSpec image = 1',
      ListImagesRequest: 'ImageFilter filter = 1',
      Image: `
        string id = 1; repeated string repo_tags = 2; repeated string repo_digests = 3; uint64 size = 4;
        Int64Value uid = 5; string username = 6; ImageSpec spec = 7; bool pinned = 8`,
      ListImagesResponse: 'repeated Image images = 1',
      ImageStatusRequest: 'ImageSpec image = 1; bool verbose = 2',
      ImageStatusResponse: `Image image = 1; ${MAP} info = 2`,
      AuthConfig: `
        string username = 1; string password = 2; string auth = 3; string server_address = 4;
        string identity_token = 5; string registry_token = 6`,
      PullImageRequest: 'ImageSpec image = 1; AuthConfig auth = 2; PodSandboxConfig sandbox_config = 3',
      PullImageResponse: 'string image_ref = 1',
      RemoveImageRequest: 'ImageSpec image = 1',
      RemoveImageResponse: '',
      RuntimeCondition: 'string type = 1; bool status = 2; string reason = 3; string message = 4',
      RuntimeStatus: 'repeated RuntimeCondition conditions = 1',
      StatusRequest: 'bool verbose = 1',
      StatusResponse: `RuntimeStatus status = 1; ${MAP} info = 2`,
    },
  },
} as const;

let schema: Schema | undefined;

/** The CRI schema, built once per process (well under a millisecond). */
export function criSchema(): Schema {
  schema ??= defineSchema(CRI_TABLE);
  return schema;
}

/** A service of the CRI schema by full name. */
export function criService(name: 'runtime.v1.RuntimeService' | 'runtime.v1.ImageService'): ServiceType {
  return criSchema().services.get(name)!;
}

/** A message of the CRI schema by full name. @throws Error for a name the table does not hold */
export function criMessage(name: string): MessageType {
  const m = criSchema().messages.get(name);
  if (m === undefined) throw new Error(`no CRI message ${name}`);
  return m;
}
