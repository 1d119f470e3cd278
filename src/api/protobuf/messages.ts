/**
 * The protobuf layout of every Kubernetes message kedge decodes: the built-in kinds it serves and
 * everything they reference. Field numbers and wire types follow Kubernetes' `generated.proto`
 * files (core/v1, apps/v1, autoscaling/v1, coordination/v1, apiextensions/v1, meta/v1, runtime,
 * intstr, resource); whether a field is a Go pointer and whether its JSON tag has `omitempty`
 * follow the Go types those files are generated from, because protobuf alone cannot tell a field
 * that was set to its zero value from one that was never set (gogo-protobuf writes every
 * non-pointer field, zero or not).
 *
 * One string per message, fields separated by `;`, in the order Go declares them (which is the
 * order `encoding/json` writes them):
 *
 *     <json>[(<proto>)] <number> <type>[[]|{}][?][!]
 *
 * - `<json>` is the JSON name; `(<proto>)` follows it only where the proto name differs
 *   (`$ref(ref)`). A leading `^` marks a struct Go embeds inline: its fields join the parent's
 *   JSON object and `<json>` is then the proto name.
 * - `<type>` is `string`, `bool`, `int32`, `int64`, `double`, `bytes` or a message, named within
 *   the same package (`PodSpec`) or with its package (`meta.v1.ObjectMeta`).
 * - `[]` repeated; `{}` a `map<string, type>`.
 * - Presence, for JSON: by default a scalar, list or map is written when it is not empty (Go's
 *   `omitempty`) and a message is always written (Go's `encoding/json` never omits a struct).
 *   `?` is a Go pointer: written when present on the wire, even when zero (`replicas: 0`), and
 *   left out when absent. `!` is a field without `omitempty`: written always, as its zero value
 *   when absent (`null` for an absent list or map). `?!` is a pointer without `omitempty`: `null`
 *   when absent.
 */
export const MESSAGE_TABLE: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'meta.v1': {
    Condition: 'type 1 string!; status 2 string!; observedGeneration 3 int64; lastTransitionTime 4 Time; reason 5 string!; message 6 string!',
    DeleteOptions: `
      gracePeriodSeconds 1 int64?; preconditions 2 Preconditions?; orphanDependents 3 bool?; propagationPolicy 4 string?; dryRun 5 string[]`,
    Duration: 'duration 1 int64',
    FieldsV1: 'Raw 1 bytes',
    LabelSelector: 'matchLabels 1 string{}; matchExpressions 2 LabelSelectorRequirement[]',
    LabelSelectorRequirement: 'key 1 string!; operator 2 string!; values 3 string[]',
    ListMeta: 'selfLink 1 string; resourceVersion 2 string; continue 3 string; remainingItemCount 4 int64?',
    ManagedFieldsEntry: `
      manager 1 string; operation 2 string; apiVersion 3 string; time 4 Time?; fieldsType 6 string; fieldsV1 7 FieldsV1?; subresource 8 string`,
    MicroTime: 'seconds 1 int64; nanos 2 int32',
    ObjectMeta: `
      name 1 string; generateName 2 string; namespace 3 string; selfLink 4 string; uid 5 string; resourceVersion 6 string; generation 7 int64;
      creationTimestamp 8 Time; deletionTimestamp 9 Time?; deletionGracePeriodSeconds 10 int64?; labels 11 string{}; annotations 12 string{};
      ownerReferences 13 OwnerReference[]; finalizers 14 string[]; managedFields 17 ManagedFieldsEntry[]`,
    OwnerReference: 'apiVersion 5 string!; kind 1 string!; name 3 string!; uid 4 string!; controller 6 bool?; blockOwnerDeletion 7 bool?',
    Preconditions: 'uid 1 string?; resourceVersion 2 string?',
    Status: 'metadata 1 ListMeta; status 2 string; message 3 string; reason 4 string; details 5 StatusDetails?; code 6 int32',
    StatusCause: 'reason 1 string; message 2 string; field 3 string',
    StatusDetails: 'name 1 string; group 2 string; kind 3 string; uid 6 string; causes 4 StatusCause[]; retryAfterSeconds 5 int32',
    Time: 'seconds 1 int64; nanos 2 int32',
    TypeMeta: 'kind 1 string; apiVersion 2 string',
    WatchEvent: 'type 1 string!; object 2 runtime.RawExtension',
  },
  'core.v1': {
    AWSElasticBlockStoreVolumeSource: 'volumeID 1 string!; fsType 2 string; partition 3 int32; readOnly 4 bool',
    Affinity: 'nodeAffinity 1 NodeAffinity?; podAffinity 2 PodAffinity?; podAntiAffinity 3 PodAntiAffinity?',
    AppArmorProfile: 'type 1 string!; localhostProfile 2 string?',
    AttachedVolume: 'name 1 string!; devicePath 2 string!',
    AzureDiskVolumeSource: 'diskName 1 string!; diskURI 2 string!; cachingMode 3 string?; fsType 4 string?; readOnly 5 bool?; kind 6 string?',
    AzureFileVolumeSource: 'secretName 1 string!; shareName 2 string!; readOnly 3 bool',
    Binding: 'metadata 1 meta.v1.ObjectMeta; target 2 ObjectReference',
    CSIVolumeSource: `
      driver 1 string!; readOnly 2 bool?; fsType 3 string?; volumeAttributes 4 string{}; nodePublishSecretRef 5 LocalObjectReference?`,
    Capabilities: 'add 1 string[]; drop 2 string[]',
    CephFSVolumeSource: 'monitors 1 string[]!; path 2 string; user 3 string; secretFile 4 string; secretRef 5 LocalObjectReference?; readOnly 6 bool',
    CinderVolumeSource: 'volumeID 1 string!; fsType 2 string; readOnly 3 bool; secretRef 4 LocalObjectReference?',
    ClaimSource: 'resourceClaimName 1 string?; resourceClaimTemplateName 2 string?',
    ClientIPConfig: 'timeoutSeconds 1 int32?',
    ClusterTrustBundleProjection: 'name 1 string?; signerName 2 string?; labelSelector 3 meta.v1.LabelSelector?; optional 5 bool?; path 4 string!',
    ConfigMap: 'metadata 1 meta.v1.ObjectMeta; immutable 4 bool?; data 2 string{}; binaryData 3 bytes{}',
    ConfigMapEnvSource: '^localObjectReference 1 LocalObjectReference; optional 2 bool?',
    ConfigMapKeySelector: '^localObjectReference 1 LocalObjectReference; key 2 string!; optional 3 bool?',
    ConfigMapList: 'metadata 1 meta.v1.ListMeta; items 2 ConfigMap[]!',
    ConfigMapNodeConfigSource: 'namespace 1 string!; name 2 string!; uid 3 string; resourceVersion 4 string; kubeletConfigKey 5 string!',
    ConfigMapProjection: '^localObjectReference 1 LocalObjectReference; items 2 KeyToPath[]; optional 4 bool?',
    ConfigMapVolumeSource: '^localObjectReference 1 LocalObjectReference; items 2 KeyToPath[]; defaultMode 3 int32?; optional 4 bool?',
    Container: `
      name 1 string!; image 2 string; command 3 string[]; args 4 string[]; workingDir 5 string; ports 6 ContainerPort[]; envFrom 19 EnvFromSource[];
      env 7 EnvVar[]; resources 8 ResourceRequirements; resizePolicy 23 ContainerResizePolicy[]; restartPolicy 24 string?;
      volumeMounts 9 VolumeMount[]; volumeDevices 21 VolumeDevice[]; livenessProbe 10 Probe?; readinessProbe 11 Probe?; startupProbe 22 Probe?;
      lifecycle 12 Lifecycle?; terminationMessagePath 13 string; terminationMessagePolicy 20 string; imagePullPolicy 14 string;
      securityContext 15 SecurityContext?; stdin 16 bool; stdinOnce 17 bool; tty 18 bool`,
    ContainerImage: 'names 1 string[]!; sizeBytes 2 int64',
    ContainerPort: 'name 1 string; hostPort 2 int32; containerPort 3 int32!; protocol 4 string; hostIP 5 string',
    ContainerResizePolicy: 'resourceName 1 string!; restartPolicy 2 string!',
    ContainerState: 'waiting 1 ContainerStateWaiting?; running 2 ContainerStateRunning?; terminated 3 ContainerStateTerminated?',
    ContainerStateRunning: 'startedAt 1 meta.v1.Time',
    ContainerStateTerminated: `
      exitCode 1 int32!; signal 2 int32; reason 3 string; message 4 string; startedAt 5 meta.v1.Time; finishedAt 6 meta.v1.Time;
      containerID 7 string`,
    ContainerStateWaiting: 'reason 1 string; message 2 string',
    ContainerStatus: `
      name 1 string!; state 2 ContainerState; lastState 3 ContainerState; ready 4 bool!; restartCount 5 int32!; image 6 string!; imageID 7 string!;
      containerID 8 string; started 9 bool?; allocatedResources 10 resource.Quantity{}; resources 11 ResourceRequirements?;
      volumeMounts 12 VolumeMountStatus[]`,
    DaemonEndpoint: 'Port 1 int32!',
    DownwardAPIProjection: 'items 1 DownwardAPIVolumeFile[]',
    DownwardAPIVolumeFile: 'path 1 string!; fieldRef 2 ObjectFieldSelector?; resourceFieldRef 3 ResourceFieldSelector?; mode 4 int32?',
    DownwardAPIVolumeSource: 'items 1 DownwardAPIVolumeFile[]; defaultMode 2 int32?',
    EmptyDirVolumeSource: 'medium 1 string; sizeLimit 2 resource.Quantity?',
    EndpointAddress: 'ip 1 string!; hostname 3 string; nodeName 4 string?; targetRef 2 ObjectReference?',
    EndpointPort: 'name 1 string; port 2 int32!; protocol 3 string; appProtocol 4 string?',
    EndpointSubset: 'addresses 1 EndpointAddress[]; notReadyAddresses 2 EndpointAddress[]; ports 3 EndpointPort[]',
    Endpoints: 'metadata 1 meta.v1.ObjectMeta; subsets 2 EndpointSubset[]',
    EndpointsList: 'metadata 1 meta.v1.ListMeta; items 2 Endpoints[]!',
    EnvFromSource: 'prefix 1 string; configMapRef 2 ConfigMapEnvSource?; secretRef 3 SecretEnvSource?',
    EnvVar: 'name 1 string!; value 2 string; valueFrom 3 EnvVarSource?',
    EnvVarSource: `
      fieldRef 1 ObjectFieldSelector?; resourceFieldRef 2 ResourceFieldSelector?; configMapKeyRef 3 ConfigMapKeySelector?;
      secretKeyRef 4 SecretKeySelector?`,
    EphemeralContainer: '^ephemeralContainerCommon 1 EphemeralContainerCommon; targetContainerName 2 string',
    EphemeralContainerCommon: `
      name 1 string!; image 2 string; command 3 string[]; args 4 string[]; workingDir 5 string; ports 6 ContainerPort[]; envFrom 19 EnvFromSource[];
      env 7 EnvVar[]; resources 8 ResourceRequirements; resizePolicy 23 ContainerResizePolicy[]; restartPolicy 24 string?;
      volumeMounts 9 VolumeMount[]; volumeDevices 21 VolumeDevice[]; livenessProbe 10 Probe?; readinessProbe 11 Probe?; startupProbe 22 Probe?;
      lifecycle 12 Lifecycle?; terminationMessagePath 13 string; terminationMessagePolicy 20 string; imagePullPolicy 14 string;
      securityContext 15 SecurityContext?; stdin 16 bool; stdinOnce 17 bool; tty 18 bool`,
    EphemeralVolumeSource: 'volumeClaimTemplate 1 PersistentVolumeClaimTemplate?',
    Event: `
      metadata 1 meta.v1.ObjectMeta; involvedObject 2 ObjectReference; reason 3 string; message 4 string; source 5 EventSource;
      firstTimestamp 6 meta.v1.Time; lastTimestamp 7 meta.v1.Time; count 8 int32; type 9 string; eventTime 10 meta.v1.MicroTime;
      series 11 EventSeries?; action 12 string; related 13 ObjectReference?; reportingComponent 14 string!; reportingInstance 15 string!`,
    EventList: 'metadata 1 meta.v1.ListMeta; items 2 Event[]!',
    EventSeries: 'count 1 int32; lastObservedTime 2 meta.v1.MicroTime',
    EventSource: 'component 1 string; host 2 string',
    ExecAction: 'command 1 string[]',
    FCVolumeSource: 'targetWWNs 1 string[]; lun 2 int32?; fsType 3 string; readOnly 4 bool; wwids 5 string[]',
    FlexVolumeSource: 'driver 1 string!; fsType 2 string; secretRef 3 LocalObjectReference?; readOnly 4 bool; options 5 string{}',
    FlockerVolumeSource: 'datasetName 1 string; datasetUUID 2 string',
    GCEPersistentDiskVolumeSource: 'pdName 1 string!; fsType 2 string; partition 3 int32; readOnly 4 bool',
    GRPCAction: 'port 1 int32!; service 2 string?!',
    GitRepoVolumeSource: 'repository 1 string!; revision 2 string; directory 3 string',
    GlusterfsVolumeSource: 'endpoints 1 string!; path 2 string!; readOnly 3 bool',
    HTTPGetAction: 'path 1 string; port 2 intstr.IntOrString; host 3 string; scheme 4 string; httpHeaders 5 HTTPHeader[]',
    HTTPHeader: 'name 1 string!; value 2 string!',
    HostAlias: 'ip 1 string; hostnames 2 string[]',
    HostIP: 'ip 1 string',
    HostPathVolumeSource: 'path 1 string!; type 2 string?',
    ISCSIVolumeSource: `
      targetPortal 1 string!; iqn 2 string!; lun 3 int32!; iscsiInterface 4 string; fsType 5 string; readOnly 6 bool; portals 7 string[];
      chapAuthDiscovery 8 bool; chapAuthSession 11 bool; secretRef 10 LocalObjectReference?; initiatorName 12 string?`,
    KeyToPath: 'key 1 string!; path 2 string!; mode 3 int32?',
    Lifecycle: 'postStart 1 LifecycleHandler?; preStop 2 LifecycleHandler?',
    LifecycleHandler: 'exec 1 ExecAction?; httpGet 2 HTTPGetAction?; tcpSocket 3 TCPSocketAction?; sleep 4 SleepAction?',
    LoadBalancerIngress: 'ip 1 string; hostname 2 string; ipMode 3 string?; ports 4 PortStatus[]',
    LoadBalancerStatus: 'ingress 1 LoadBalancerIngress[]',
    LocalObjectReference: 'name 1 string',
    NFSVolumeSource: 'server 1 string!; path 2 string!; readOnly 3 bool',
    Namespace: 'metadata 1 meta.v1.ObjectMeta; spec 2 NamespaceSpec; status 3 NamespaceStatus',
    NamespaceCondition: 'type 1 string!; status 2 string!; lastTransitionTime 4 meta.v1.Time; reason 5 string; message 6 string',
    NamespaceList: 'metadata 1 meta.v1.ListMeta; items 2 Namespace[]!',
    NamespaceSpec: 'finalizers 1 string[]',
    NamespaceStatus: 'phase 1 string; conditions 2 NamespaceCondition[]',
    Node: 'metadata 1 meta.v1.ObjectMeta; spec 2 NodeSpec; status 3 NodeStatus',
    NodeAddress: 'type 1 string!; address 2 string!',
    NodeAffinity: `
      requiredDuringSchedulingIgnoredDuringExecution 1 NodeSelector?; preferredDuringSchedulingIgnoredDuringExecution 2 PreferredSchedulingTerm[]`,
    NodeCondition: `
      type 1 string!; status 2 string!; lastHeartbeatTime 3 meta.v1.Time; lastTransitionTime 4 meta.v1.Time; reason 5 string; message 6 string`,
    NodeConfigSource: 'configMap 2 ConfigMapNodeConfigSource?',
    NodeConfigStatus: 'assigned 1 NodeConfigSource?; active 2 NodeConfigSource?; lastKnownGood 3 NodeConfigSource?; error 4 string',
    NodeDaemonEndpoints: 'kubeletEndpoint 1 DaemonEndpoint',
    NodeList: 'metadata 1 meta.v1.ListMeta; items 2 Node[]!',
    NodeRuntimeHandler: 'name 1 string!; features 2 NodeRuntimeHandlerFeatures?',
    NodeRuntimeHandlerFeatures: 'recursiveReadOnlyMounts 1 bool?; userNamespaces 2 bool?',
    NodeSelector: 'nodeSelectorTerms 1 NodeSelectorTerm[]!',
    NodeSelectorRequirement: 'key 1 string!; operator 2 string!; values 3 string[]',
    NodeSelectorTerm: 'matchExpressions 1 NodeSelectorRequirement[]; matchFields 2 NodeSelectorRequirement[]',
    NodeSpec: `
      podCIDR 1 string; podCIDRs 7 string[]; providerID 3 string; unschedulable 4 bool; taints 5 Taint[]; configSource 6 NodeConfigSource?;
      externalID 2 string`,
    NodeStatus: `
      capacity 1 resource.Quantity{}; allocatable 2 resource.Quantity{}; phase 3 string; conditions 4 NodeCondition[]; addresses 5 NodeAddress[];
      daemonEndpoints 6 NodeDaemonEndpoints; nodeInfo 7 NodeSystemInfo; images 8 ContainerImage[]; volumesInUse 9 string[];
      volumesAttached 10 AttachedVolume[]; config 11 NodeConfigStatus?; runtimeHandlers 12 NodeRuntimeHandler[]`,
    NodeSystemInfo: `
      machineID 1 string!; systemUUID 2 string!; bootID 3 string!; kernelVersion 4 string!; osImage 5 string!; containerRuntimeVersion 6 string!;
      kubeletVersion 7 string!; kubeProxyVersion 8 string!; operatingSystem 9 string!; architecture 10 string!`,
    ObjectFieldSelector: 'apiVersion 1 string; fieldPath 2 string!',
    ObjectReference: `
      kind 1 string; namespace 2 string; name 3 string; uid 4 string; apiVersion 5 string; resourceVersion 6 string; fieldPath 7 string`,
    PersistentVolumeClaimSpec: `
      accessModes 1 string[]; selector 4 meta.v1.LabelSelector?; resources 2 VolumeResourceRequirements; volumeName 3 string;
      storageClassName 5 string?; volumeMode 6 string?; dataSource 7 TypedLocalObjectReference?; dataSourceRef 8 TypedObjectReference?;
      volumeAttributesClassName 9 string?`,
    PersistentVolumeClaimTemplate: 'metadata 1 meta.v1.ObjectMeta; spec 2 PersistentVolumeClaimSpec',
    PersistentVolumeClaimVolumeSource: 'claimName 1 string!; readOnly 2 bool',
    PhotonPersistentDiskVolumeSource: 'pdID 1 string!; fsType 2 string',
    Pod: 'metadata 1 meta.v1.ObjectMeta; spec 2 PodSpec; status 3 PodStatus',
    PodAffinity: `
      requiredDuringSchedulingIgnoredDuringExecution 1 PodAffinityTerm[];
      preferredDuringSchedulingIgnoredDuringExecution 2 WeightedPodAffinityTerm[]`,
    PodAffinityTerm: `
      labelSelector 1 meta.v1.LabelSelector?; namespaces 2 string[]; topologyKey 3 string!; namespaceSelector 4 meta.v1.LabelSelector?;
      matchLabelKeys 5 string[]; mismatchLabelKeys 6 string[]`,
    PodAntiAffinity: `
      requiredDuringSchedulingIgnoredDuringExecution 1 PodAffinityTerm[];
      preferredDuringSchedulingIgnoredDuringExecution 2 WeightedPodAffinityTerm[]`,
    PodCondition: `
      type 1 string!; status 2 string!; lastProbeTime 3 meta.v1.Time; lastTransitionTime 4 meta.v1.Time; reason 5 string; message 6 string`,
    PodDNSConfig: 'nameservers 1 string[]; searches 2 string[]; options 3 PodDNSConfigOption[]',
    PodDNSConfigOption: 'name 1 string; value 2 string?',
    PodIP: 'ip 1 string',
    PodList: 'metadata 1 meta.v1.ListMeta; items 2 Pod[]!',
    PodOS: 'name 1 string!',
    PodReadinessGate: 'conditionType 1 string!',
    PodResourceClaim: 'name 1 string!; source 2 ClaimSource',
    PodResourceClaimStatus: 'name 1 string!; resourceClaimName 2 string?',
    PodSchedulingGate: 'name 1 string!',
    PodSecurityContext: `
      seLinuxOptions 1 SELinuxOptions?; windowsOptions 8 WindowsSecurityContextOptions?; runAsUser 2 int64?; runAsGroup 6 int64?;
      runAsNonRoot 3 bool?; supplementalGroups 4 int64[]; supplementalGroupsPolicy 12 string?; fsGroup 5 int64?; sysctls 7 Sysctl[];
      fsGroupChangePolicy 9 string?; seccompProfile 10 SeccompProfile?; appArmorProfile 11 AppArmorProfile?; seLinuxChangePolicy 13 string?`,
    PodSpec: `
      volumes 1 Volume[]; initContainers 20 Container[]; containers 2 Container[]!; ephemeralContainers 34 EphemeralContainer[];
      restartPolicy 3 string; terminationGracePeriodSeconds 4 int64?; activeDeadlineSeconds 5 int64?; dnsPolicy 6 string; nodeSelector 7 string{};
      serviceAccountName 8 string; serviceAccount 9 string; automountServiceAccountToken 21 bool?; nodeName 10 string; hostNetwork 11 bool;
      hostPID 12 bool; hostIPC 13 bool; shareProcessNamespace 27 bool?; securityContext 14 PodSecurityContext?;
      imagePullSecrets 15 LocalObjectReference[]; hostname 16 string; subdomain 17 string; affinity 18 Affinity?; schedulerName 19 string;
      tolerations 22 Toleration[]; hostAliases 23 HostAlias[]; priorityClassName 24 string; priority 25 int32?; dnsConfig 26 PodDNSConfig?;
      readinessGates 28 PodReadinessGate[]; runtimeClassName 29 string?; enableServiceLinks 30 bool?; preemptionPolicy 31 string?;
      overhead 32 resource.Quantity{}; topologySpreadConstraints 33 TopologySpreadConstraint[]; setHostnameAsFQDN 35 bool?; os 36 PodOS?;
      hostUsers 37 bool?; schedulingGates 38 PodSchedulingGate[]; resourceClaims 39 PodResourceClaim[]; resources 40 ResourceRequirements?`,
    PodStatus: `
      phase 1 string; conditions 2 PodCondition[]; message 3 string; reason 4 string; nominatedNodeName 11 string; hostIP 5 string;
      hostIPs 16 HostIP[]; podIP 6 string; podIPs 12 PodIP[]; startTime 7 meta.v1.Time?; initContainerStatuses 10 ContainerStatus[];
      containerStatuses 8 ContainerStatus[]; qosClass 9 string; ephemeralContainerStatuses 13 ContainerStatus[]; resize 14 string;
      resourceClaimStatuses 15 PodResourceClaimStatus[]`,
    PodTemplateSpec: 'metadata 1 meta.v1.ObjectMeta; spec 2 PodSpec',
    PortStatus: 'port 1 int32!; protocol 2 string!; error 3 string?',
    PortworxVolumeSource: 'volumeID 1 string!; fsType 2 string; readOnly 3 bool',
    PreferredSchedulingTerm: 'weight 1 int32!; preference 2 NodeSelectorTerm',
    Probe: `
      ^handler 1 ProbeHandler; initialDelaySeconds 2 int32; timeoutSeconds 3 int32; periodSeconds 4 int32; successThreshold 5 int32;
      failureThreshold 6 int32; terminationGracePeriodSeconds 7 int64?`,
    ProbeHandler: 'exec 1 ExecAction?; httpGet 2 HTTPGetAction?; tcpSocket 3 TCPSocketAction?; grpc 4 GRPCAction?',
    ProjectedVolumeSource: 'sources 1 VolumeProjection[]!; defaultMode 2 int32?',
    QuobyteVolumeSource: 'registry 1 string!; volume 2 string!; readOnly 3 bool; user 4 string; group 5 string; tenant 6 string',
    RBDVolumeSource: `
      monitors 1 string[]!; image 2 string!; fsType 3 string; pool 4 string; user 5 string; keyring 6 string; secretRef 7 LocalObjectReference?;
      readOnly 8 bool`,
    ResourceClaim: 'name 1 string!',
    ResourceFieldSelector: 'containerName 1 string; resource 2 string!; divisor 3 resource.Quantity',
    ResourceRequirements: 'limits 1 resource.Quantity{}; requests 2 resource.Quantity{}; claims 3 ResourceClaim[]',
    SELinuxOptions: 'user 1 string; role 2 string; type 3 string; level 4 string',
    ScaleIOVolumeSource: `
      gateway 1 string!; system 2 string!; secretRef 3 LocalObjectReference?!; sslEnabled 4 bool; protectionDomain 5 string; storagePool 6 string;
      storageMode 7 string; volumeName 8 string; fsType 9 string; readOnly 10 bool`,
    SeccompProfile: 'type 1 string!; localhostProfile 2 string?',
    Secret: 'metadata 1 meta.v1.ObjectMeta; immutable 5 bool?; data 2 bytes{}; stringData 4 string{}; type 3 string',
    SecretEnvSource: '^localObjectReference 1 LocalObjectReference; optional 2 bool?',
    SecretKeySelector: '^localObjectReference 1 LocalObjectReference; key 2 string!; optional 3 bool?',
    SecretList: 'metadata 1 meta.v1.ListMeta; items 2 Secret[]!',
    SecretProjection: '^localObjectReference 1 LocalObjectReference; items 2 KeyToPath[]; optional 4 bool?',
    SecretVolumeSource: 'secretName 1 string; items 2 KeyToPath[]; defaultMode 3 int32?; optional 4 bool?',
    SecurityContext: `
      capabilities 1 Capabilities?; privileged 2 bool?; seLinuxOptions 3 SELinuxOptions?; windowsOptions 10 WindowsSecurityContextOptions?;
      runAsUser 4 int64?; runAsGroup 8 int64?; runAsNonRoot 5 bool?; readOnlyRootFilesystem 6 bool?; allowPrivilegeEscalation 7 bool?;
      procMount 9 string?; seccompProfile 11 SeccompProfile?; appArmorProfile 12 AppArmorProfile?`,
    Service: 'metadata 1 meta.v1.ObjectMeta; spec 2 ServiceSpec; status 3 ServiceStatus',
    ServiceAccount: `
      metadata 1 meta.v1.ObjectMeta; secrets 2 ObjectReference[]; imagePullSecrets 3 LocalObjectReference[]; automountServiceAccountToken 4 bool?`,
    ServiceAccountList: 'metadata 1 meta.v1.ListMeta; items 2 ServiceAccount[]!',
    ServiceAccountTokenProjection: 'audience 1 string; expirationSeconds 2 int64?; path 3 string!',
    ServiceList: 'metadata 1 meta.v1.ListMeta; items 2 Service[]!',
    ServicePort: 'name 1 string; protocol 2 string; appProtocol 6 string?; port 3 int32!; targetPort 4 intstr.IntOrString; nodePort 5 int32',
    ServiceSpec: `
      ports 1 ServicePort[]; selector 2 string{}; clusterIP 3 string; clusterIPs 18 string[]; type 4 string; externalIPs 5 string[];
      sessionAffinity 7 string; loadBalancerIP 8 string; loadBalancerSourceRanges 9 string[]; externalName 10 string;
      externalTrafficPolicy 11 string; healthCheckNodePort 12 int32; publishNotReadyAddresses 13 bool;
      sessionAffinityConfig 14 SessionAffinityConfig?; ipFamilies 19 string[]; ipFamilyPolicy 17 string?; allocateLoadBalancerNodePorts 20 bool?;
      loadBalancerClass 21 string?; internalTrafficPolicy 22 string?; trafficDistribution 23 string?`,
    ServiceStatus: 'loadBalancer 1 LoadBalancerStatus; conditions 2 meta.v1.Condition[]',
    SessionAffinityConfig: 'clientIP 1 ClientIPConfig?',
    SleepAction: 'seconds 1 int64!',
    StorageOSVolumeSource: 'volumeName 1 string; volumeNamespace 2 string; fsType 3 string; readOnly 4 bool; secretRef 5 LocalObjectReference?',
    Sysctl: 'name 1 string!; value 2 string!',
    TCPSocketAction: 'port 1 intstr.IntOrString; host 2 string',
    Taint: 'key 1 string!; value 2 string; effect 3 string!; timeAdded 4 meta.v1.Time?',
    Toleration: 'key 1 string; operator 2 string; value 3 string; effect 4 string; tolerationSeconds 5 int64?',
    TopologySpreadConstraint: `
      maxSkew 1 int32!; topologyKey 2 string!; whenUnsatisfiable 3 string!; labelSelector 4 meta.v1.LabelSelector?; minDomains 5 int32?;
      nodeAffinityPolicy 6 string?; nodeTaintsPolicy 7 string?; matchLabelKeys 8 string[]`,
    TypedLocalObjectReference: 'apiGroup 1 string?!; kind 2 string!; name 3 string!',
    TypedObjectReference: 'apiGroup 1 string?!; kind 2 string!; name 3 string!; namespace 4 string?',
    Volume: 'name 1 string!; ^volumeSource 2 VolumeSource',
    VolumeDevice: 'name 1 string!; devicePath 2 string!',
    VolumeMount: `
      name 1 string!; readOnly 2 bool; recursiveReadOnly 7 string?; mountPath 3 string!; subPath 4 string; mountPropagation 5 string?;
      subPathExpr 6 string`,
    VolumeMountStatus: 'name 1 string!; mountPath 2 string!; readOnly 3 bool; recursiveReadOnly 4 string?',
    VolumeProjection: `
      secret 1 SecretProjection?; downwardAPI 2 DownwardAPIProjection?; configMap 3 ConfigMapProjection?;
      serviceAccountToken 4 ServiceAccountTokenProjection?; clusterTrustBundle 5 ClusterTrustBundleProjection?`,
    VolumeResourceRequirements: 'limits 1 resource.Quantity{}; requests 2 resource.Quantity{}',
    VolumeSource: `
      hostPath 1 HostPathVolumeSource?; emptyDir 2 EmptyDirVolumeSource?; gcePersistentDisk 3 GCEPersistentDiskVolumeSource?;
      awsElasticBlockStore 4 AWSElasticBlockStoreVolumeSource?; gitRepo 5 GitRepoVolumeSource?; secret 6 SecretVolumeSource?; nfs 7 NFSVolumeSource?;
      iscsi 8 ISCSIVolumeSource?; glusterfs 9 GlusterfsVolumeSource?; persistentVolumeClaim 10 PersistentVolumeClaimVolumeSource?;
      rbd 11 RBDVolumeSource?; flexVolume 12 FlexVolumeSource?; cinder 13 CinderVolumeSource?; cephfs 14 CephFSVolumeSource?;
      flocker 15 FlockerVolumeSource?; downwardAPI 16 DownwardAPIVolumeSource?; fc 17 FCVolumeSource?; azureFile 18 AzureFileVolumeSource?;
      configMap 19 ConfigMapVolumeSource?; vsphereVolume 20 VsphereVirtualDiskVolumeSource?; quobyte 21 QuobyteVolumeSource?;
      azureDisk 22 AzureDiskVolumeSource?; photonPersistentDisk 23 PhotonPersistentDiskVolumeSource?; projected 26 ProjectedVolumeSource?;
      portworxVolume 24 PortworxVolumeSource?; scaleIO 25 ScaleIOVolumeSource?; storageos 27 StorageOSVolumeSource?; csi 28 CSIVolumeSource?;
      ephemeral 29 EphemeralVolumeSource?`,
    VsphereVirtualDiskVolumeSource: 'volumePath 1 string!; fsType 2 string; storagePolicyName 3 string; storagePolicyID 4 string',
    WeightedPodAffinityTerm: 'weight 1 int32!; podAffinityTerm 2 PodAffinityTerm',
    WindowsSecurityContextOptions: 'gmsaCredentialSpecName 1 string?; gmsaCredentialSpec 2 string?; runAsUserName 3 string?; hostProcess 4 bool?',
  },
  'apps.v1': {
    DaemonSet: 'metadata 1 meta.v1.ObjectMeta; spec 2 DaemonSetSpec; status 3 DaemonSetStatus',
    DaemonSetCondition: 'type 1 string!; status 2 string!; lastTransitionTime 3 meta.v1.Time; reason 4 string; message 5 string',
    DaemonSetList: 'metadata 1 meta.v1.ListMeta; items 2 DaemonSet[]!',
    DaemonSetSpec: `
      selector 1 meta.v1.LabelSelector?!; template 2 core.v1.PodTemplateSpec; updateStrategy 3 DaemonSetUpdateStrategy; minReadySeconds 4 int32;
      revisionHistoryLimit 6 int32?`,
    DaemonSetStatus: `
      currentNumberScheduled 1 int32!; numberMisscheduled 2 int32!; desiredNumberScheduled 3 int32!; numberReady 4 int32!;
      observedGeneration 5 int64; updatedNumberScheduled 6 int32; numberAvailable 7 int32; numberUnavailable 8 int32; collisionCount 9 int32?;
      conditions 10 DaemonSetCondition[]`,
    DaemonSetUpdateStrategy: 'type 1 string; rollingUpdate 2 RollingUpdateDaemonSet?',
    Deployment: 'metadata 1 meta.v1.ObjectMeta; spec 2 DeploymentSpec; status 3 DeploymentStatus',
    DeploymentCondition: `
      type 1 string!; status 2 string!; lastUpdateTime 6 meta.v1.Time; lastTransitionTime 7 meta.v1.Time; reason 4 string; message 5 string`,
    DeploymentList: 'metadata 1 meta.v1.ListMeta; items 2 Deployment[]!',
    DeploymentSpec: `
      replicas 1 int32?; selector 2 meta.v1.LabelSelector?!; template 3 core.v1.PodTemplateSpec; strategy 4 DeploymentStrategy;
      minReadySeconds 5 int32; revisionHistoryLimit 6 int32?; paused 7 bool; progressDeadlineSeconds 9 int32?; podReplacementPolicy 10 string?`,
    DeploymentStatus: `
      observedGeneration 1 int64; replicas 2 int32; updatedReplicas 3 int32; readyReplicas 7 int32; availableReplicas 4 int32;
      unavailableReplicas 5 int32; terminatingReplicas 9 int32?; conditions 6 DeploymentCondition[]; collisionCount 8 int32?`,
    DeploymentStrategy: 'type 1 string; rollingUpdate 2 RollingUpdateDeployment?',
    ReplicaSet: 'metadata 1 meta.v1.ObjectMeta; spec 2 ReplicaSetSpec; status 3 ReplicaSetStatus',
    ReplicaSetCondition: 'type 1 string!; status 2 string!; lastTransitionTime 3 meta.v1.Time; reason 4 string; message 5 string',
    ReplicaSetList: 'metadata 1 meta.v1.ListMeta; items 2 ReplicaSet[]!',
    ReplicaSetSpec: 'replicas 1 int32?; minReadySeconds 4 int32; selector 2 meta.v1.LabelSelector?!; template 3 core.v1.PodTemplateSpec',
    ReplicaSetStatus: `
      replicas 1 int32!; fullyLabeledReplicas 2 int32; readyReplicas 4 int32; availableReplicas 5 int32; terminatingReplicas 7 int32?;
      observedGeneration 3 int64; conditions 6 ReplicaSetCondition[]`,
    RollingUpdateDaemonSet: 'maxUnavailable 1 intstr.IntOrString?; maxSurge 2 intstr.IntOrString?',
    RollingUpdateDeployment: 'maxUnavailable 1 intstr.IntOrString?; maxSurge 2 intstr.IntOrString?',
  },
  'runtime': {
    RawExtension: 'raw 1 bytes',
    TypeMeta: 'apiVersion 1 string; kind 2 string',
    Unknown: 'typeMeta 1 TypeMeta; raw 2 bytes; contentEncoding 3 string; contentType 4 string',
  },
  'intstr': {
    IntOrString: 'type 1 int64; intVal 2 int32; strVal 3 string',
  },
  'resource': {
    Quantity: 'string 1 string',
  },
  'autoscaling.v1': {
    Scale: 'metadata 1 meta.v1.ObjectMeta; spec 2 ScaleSpec; status 3 ScaleStatus',
    ScaleSpec: 'replicas 1 int32',
    ScaleStatus: 'replicas 1 int32!; selector 2 string',
  },
  'coordination.v1': {
    Lease: 'metadata 1 meta.v1.ObjectMeta; spec 2 LeaseSpec',
    LeaseList: 'metadata 1 meta.v1.ListMeta; items 2 Lease[]!',
    LeaseSpec: `
      holderIdentity 1 string?; leaseDurationSeconds 2 int32?; acquireTime 3 meta.v1.MicroTime?; renewTime 4 meta.v1.MicroTime?;
      leaseTransitions 5 int32?`,
  },
  'apiextensions.v1': {
    CustomResourceColumnDefinition: 'name 1 string!; type 2 string!; format 3 string; description 4 string; priority 5 int32; jsonPath 6 string!',
    CustomResourceConversion: 'strategy 1 string!; webhook 2 WebhookConversion?',
    CustomResourceDefinition: 'metadata 1 meta.v1.ObjectMeta; spec 2 CustomResourceDefinitionSpec; status 3 CustomResourceDefinitionStatus',
    CustomResourceDefinitionCondition: 'type 1 string!; status 2 string!; lastTransitionTime 3 meta.v1.Time; reason 4 string; message 5 string',
    CustomResourceDefinitionList: 'metadata 1 meta.v1.ListMeta; items 2 CustomResourceDefinition[]!',
    CustomResourceDefinitionNames: `
      plural 1 string!; singular 2 string; shortNames 3 string[]; kind 4 string!; listKind 5 string; categories 6 string[]`,
    CustomResourceDefinitionSpec: `
      group 1 string!; names 3 CustomResourceDefinitionNames; scope 4 string!; versions 7 CustomResourceDefinitionVersion[]!;
      conversion 9 CustomResourceConversion?; preserveUnknownFields 10 bool`,
    CustomResourceDefinitionStatus: `
      conditions 1 CustomResourceDefinitionCondition[]; acceptedNames 2 CustomResourceDefinitionNames; storedVersions 3 string[]`,
    CustomResourceDefinitionVersion: `
      name 1 string!; served 2 bool!; storage 3 bool!; deprecated 7 bool; deprecationWarning 8 string?; schema 4 CustomResourceValidation?;
      subresources 5 CustomResourceSubresources?; additionalPrinterColumns 6 CustomResourceColumnDefinition[]; selectableFields 9 SelectableField[]`,
    CustomResourceSubresourceScale: 'specReplicasPath 1 string!; statusReplicasPath 2 string!; labelSelectorPath 3 string?',
    CustomResourceSubresourceStatus: '',
    CustomResourceSubresources: 'status 1 CustomResourceSubresourceStatus?; scale 2 CustomResourceSubresourceScale?',
    CustomResourceValidation: 'openAPIV3Schema 1 JSONSchemaProps?',
    ExternalDocumentation: 'description 1 string; url 2 string',
    JSON: 'raw 1 bytes',
    JSONSchemaProps: `
      id 1 string; $schema(schema) 2 string; $ref(ref) 3 string?; description 4 string; type 5 string; format 6 string; title 7 string;
      default 8 JSON?; maximum 9 double?; exclusiveMaximum 10 bool; minimum 11 double?; exclusiveMinimum 12 bool; maxLength 13 int64?;
      minLength 14 int64?; pattern 15 string; maxItems 16 int64?; minItems 17 int64?; uniqueItems 18 bool; multipleOf 19 double?; enum 20 JSON[];
      maxProperties 21 int64?; minProperties 22 int64?; required 23 string[]; items 24 JSONSchemaPropsOrArray?; allOf 25 JSONSchemaProps[];
      oneOf 26 JSONSchemaProps[]; anyOf 27 JSONSchemaProps[]; not 28 JSONSchemaProps?; properties 29 JSONSchemaProps{};
      additionalProperties 30 JSONSchemaPropsOrBool?; patternProperties 31 JSONSchemaProps{}; dependencies 32 JSONSchemaPropsOrStringArray{};
      additionalItems 33 JSONSchemaPropsOrBool?; definitions 34 JSONSchemaProps{}; externalDocs 35 ExternalDocumentation?; example 36 JSON?;
      nullable 37 bool; x-kubernetes-preserve-unknown-fields(xKubernetesPreserveUnknownFields) 38 bool?;
      x-kubernetes-embedded-resource(xKubernetesEmbeddedResource) 39 bool; x-kubernetes-int-or-string(xKubernetesIntOrString) 40 bool;
      x-kubernetes-list-map-keys(xKubernetesListMapKeys) 41 string[]; x-kubernetes-list-type(xKubernetesListType) 42 string?;
      x-kubernetes-map-type(xKubernetesMapType) 43 string?; x-kubernetes-validations(xKubernetesValidations) 44 ValidationRule[]`,
    JSONSchemaPropsOrArray: 'schema 1 JSONSchemaProps?; jSONSchemas 2 JSONSchemaProps[]',
    JSONSchemaPropsOrBool: 'allows 1 bool; schema 2 JSONSchemaProps?',
    JSONSchemaPropsOrStringArray: 'schema 1 JSONSchemaProps?; property 2 string[]',
    SelectableField: 'jsonPath 1 string!',
    ServiceReference: 'namespace 1 string!; name 2 string!; path 3 string?; port 4 int32?',
    ValidationRule: 'rule 1 string!; message 2 string; messageExpression 3 string; reason 4 string?; fieldPath 5 string; optionalOldSelf 6 bool?',
    WebhookClientConfig: 'url 3 string?; service 1 ServiceReference?; caBundle 2 bytes',
    WebhookConversion: 'clientConfig 2 WebhookClientConfig?; conversionReviewVersions 3 string[]!',
  },
};
