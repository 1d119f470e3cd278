/** Service and Endpoints validation (`ValidateService`, `ValidateEndpoints`). */
import type { EndpointAddress, EndpointPort, Endpoints, Service, ServicePort, ServiceSpec } from 'kubernetes-types/core/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { PORT_PROTOCOLS, validatePortNumOrName } from './container.ts';
import { validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { dns1123LabelErrors, dns1123SubdomainErrors, ipErrors, nameIsDNSSubdomain, portNumberErrors, qualifiedNameErrors } from './names.ts';
import { invalidEach, list, shape, str } from './util.ts';

/** The node port range kedge allocates from, as kube-apiserver's default `--service-node-port-range`. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const SESSION_AFFINITIES = ['ClientIP', 'None'];
const IP_FAMILIES = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
/** `ports.KubeletPort`: never exposed by a load balancer. */
const KUBELET_PORT = 10250;

const isHeadless = (spec: ServiceSpec): boolean => spec.clusterIP === 'None';

function validateServicePort(sp: ServicePort, requireName: boolean, names: Set<string>, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const name = str(sp.name);
  if (requireName && name === '') errors.push(fieldErrors.required(`${path}.name`));
  else if (name !== '') {
    errors.push(...invalidEach(`${path}.name`, name, dns1123LabelErrors(name)));
    if (names.has(name)) errors.push(fieldErrors.duplicate(`${path}.name`, name));
    else names.add(name);
  }
  errors.push(...invalidEach(`${path}.port`, sp.port ?? 0, portNumberErrors(sp.port ?? 0)));
  const protocol = str(sp.protocol);
  if (protocol === '') errors.push(fieldErrors.required(`${path}.protocol`));
  else if (!PORT_PROTOCOLS.includes(protocol)) errors.push(fieldErrors.notSupported(`${path}.protocol`, protocol, PORT_PROTOCOLS));
  errors.push(...validatePortNumOrName(sp.targetPort, `${path}.targetPort`));
  if (sp.appProtocol != null) errors.push(...invalidEach(`${path}.appProtocol`, sp.appProtocol, qualifiedNameErrors(str(sp.appProtocol))));
  return errors;
}

/** `ValidateServiceClusterIPsRelatedFields`: clusterIP and clusterIPs agree; families are known. */
function clusterIPFields(spec: ServiceSpec): FieldError[] {
  if (spec.type === 'ExternalName') return [];
  const errors: FieldError[] = [];
  const clusterIP = str(spec.clusterIP);
  const clusterIPs = list(spec.clusterIPs).map(str);
  if (clusterIP !== '') {
    if (clusterIPs.length === 0) errors.push(fieldErrors.required('spec.clusterIPs'));
    else if (clusterIPs[0] !== clusterIP) errors.push(fieldErrors.invalid('spec.clusterIPs', clusterIPs, 'first value must match `clusterIP`'));
  } else if (clusterIPs.length > 0) {
    errors.push(fieldErrors.invalid('spec.clusterIPs', clusterIPs, 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  list(spec.ipFamilies).forEach((family, i) => {
    if (!IP_FAMILIES.includes(family)) errors.push(fieldErrors.notSupported(`spec.ipFamilies[${i}]`, family, IP_FAMILIES));
    if (seen.has(family)) errors.push(fieldErrors.duplicate(`spec.ipFamilies[${i}]`, family));
    seen.add(family);
  });
  if (spec.ipFamilyPolicy != null && !IP_FAMILY_POLICIES.includes(str(spec.ipFamilyPolicy))) {
    errors.push(fieldErrors.notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, IP_FAMILY_POLICIES));
  }
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (clusterIPs.length > 1) errors.push(fieldErrors.invalid('spec.clusterIPs', clusterIPs, "'None' must be the first and only value"));
      return;
    }
    errors.push(...invalidEach(`spec.clusterIPs[${i}]`, ip, ipErrors(ip)));
  });
  if (clusterIPs.length > 2) errors.push(fieldErrors.invalid('spec.clusterIPs', clusterIPs, 'may only hold up to 2 values'));
  return errors;
}

function validateServiceSpec(spec: ServiceSpec): FieldError[] {
  const errors: FieldError[] = [];
  const type = str(spec.type);
  const ports = list(spec.ports);
  const headless = isHeadless(spec);
  if (ports.length === 0 && !headless && type !== 'ExternalName') errors.push(fieldErrors.required('spec.ports'));
  switch (type) {
    case 'LoadBalancer':
      if (headless) errors.push(fieldErrors.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for LoadBalancer services"));
      ports.forEach((p, i) => {
        if (p.port === KUBELET_PORT) errors.push(fieldErrors.invalid(`spec.ports[${i}]`, p.port, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`));
      });
      break;
    case 'NodePort':
      if (headless) errors.push(fieldErrors.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for NodePort services"));
      break;
    case 'ExternalName': {
      if (list(spec.clusterIPs).length > 0) errors.push(fieldErrors.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if (list(spec.ipFamilies).length > 0) errors.push(fieldErrors.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (spec.ipFamilyPolicy != null) errors.push(fieldErrors.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      // A trailing dot marks the name as fully qualified.
      const cname = str(spec.externalName).replace(/\.$/, '');
      if (cname === '') errors.push(fieldErrors.required('spec.externalName'));
      else errors.push(...invalidEach('spec.externalName', cname, dns1123SubdomainErrors(cname)));
      break;
    }
  }
  const names = new Set<string>();
  ports.forEach((p, i) => errors.push(...validateServicePort(p, ports.length > 1, names, `spec.ports[${i}]`)));
  if (spec.selector != null) errors.push(...validateLabels(spec.selector, 'spec.selector'));
  const affinity = str(spec.sessionAffinity);
  if (affinity === '') errors.push(fieldErrors.required('spec.sessionAffinity'));
  else if (!SESSION_AFFINITIES.includes(affinity)) errors.push(fieldErrors.notSupported('spec.sessionAffinity', affinity, SESSION_AFFINITIES));
  if (affinity === 'None' && spec.sessionAffinityConfig != null) errors.push(fieldErrors.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  if (affinity === 'ClientIP') {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (typeof timeout === 'number' && (timeout <= 0 || timeout > 86400)) {
      errors.push(fieldErrors.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
    }
  }
  errors.push(...clusterIPFields(spec));
  list(spec.externalIPs).forEach((ip, i) => errors.push(...invalidEach(`spec.externalIPs[${i}]`, ip, ipErrors(str(ip)))));
  if (type === '') errors.push(fieldErrors.required('spec.type'));
  else if (!SERVICE_TYPES.includes(type)) errors.push(fieldErrors.notSupported('spec.type', type, SERVICE_TYPES));
  const nodePorts = new Set<string>();
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const nodePort = p.nodePort ?? 0;
    if (nodePort !== 0) {
      if (type === 'ClusterIP') errors.push(fieldErrors.forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
      else if (nodePort < NODE_PORT_RANGE.min || nodePort > NODE_PORT_RANGE.max) {
        // The allocator's message: kube-apiserver reports it from the same request.
        errors.push(
          fieldErrors.invalid(`spec.ports[${i}].nodePort`, nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`),
        );
      }
      const key = `${str(p.protocol)}/${nodePort}`;
      if (nodePorts.has(key)) errors.push(fieldErrors.duplicate(`spec.ports[${i}].nodePort`, nodePort));
      nodePorts.add(key);
    }
    const key = `${str(p.protocol)}/${p.port ?? 0}`;
    if (portKeys.has(key)) errors.push(fieldErrors.duplicate(`spec.ports[${i}]`, { port: p.port ?? 0, protocol: str(p.protocol) }));
    portKeys.add(key);
  });
  const externallyAccessible = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && list(spec.externalIPs).length > 0);
  if (spec.externalTrafficPolicy != null && str(spec.externalTrafficPolicy) !== '') {
    if (!externallyAccessible) errors.push(fieldErrors.invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
    else if (!TRAFFIC_POLICIES.includes(str(spec.externalTrafficPolicy))) errors.push(fieldErrors.notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, TRAFFIC_POLICIES));
  }
  if (spec.internalTrafficPolicy != null && !TRAFFIC_POLICIES.includes(str(spec.internalTrafficPolicy))) {
    errors.push(fieldErrors.notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  }
  return errors;
}

/** `ValidateService`: Service names are DNS-1035 labels (they become DNS names and env vars). */
export function validateService(obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1035Label' }), ...validateServiceSpec(shape<Service>(obj).spec ?? {})];
}

/** `validateUpgradeDowngradeClusterIPs`: an allocated cluster IP never changes. */
function clusterIPsUnchanged(spec: ServiceSpec, old: ServiceSpec): FieldError[] {
  if (spec.type === 'ExternalName' || old.type === 'ExternalName') return [];
  if (isHeadless(spec) && isHeadless(old)) return [];
  const ips = list(spec.clusterIPs);
  const oldIPs = list(old.clusterIPs);
  const errors: FieldError[] = [];
  if (ips.length === oldIPs.length) {
    oldIPs.forEach((ip, i) => {
      if (ips[i] !== ip) errors.push(fieldErrors.invalid(`spec.clusterIPs[${i}]`, ips, 'may not change once set'));
    });
  } else if (oldIPs.length > ips.length && ips.length === 0) {
    errors.push(fieldErrors.invalid('spec.clusterIPs[0]', ips, 'primary clusterIP can not be unset'));
  } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
    errors.push(fieldErrors.invalid('spec.clusterIPs[0]', ips, 'may not change once set'));
  }
  return errors;
}

/** `ValidateServiceUpdate`. */
export function validateServiceUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const spec = shape<Service>(obj).spec ?? {};
  const oldSpec = shape<Service>(old).spec ?? {};
  return [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...clusterIPsUnchanged(spec, oldSpec), ...validateService(obj)];
}

/**
 * `ValidateNonSpecialIP`: endpoints and external IPs may not be unspecified, loopback or
 * link-local addresses.
 */
function nonSpecialIP(ip: string, path: string): FieldError[] {
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(ip);
  const lower = ip.toLowerCase();
  if (ip === '0.0.0.0' || lower === '::') return [fieldErrors.invalid(path, ip, `may not be unspecified (${ip})`)];
  if ((v4 !== null && v4[1] === '127') || lower === '::1') return [fieldErrors.invalid(path, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
  if ((v4 !== null && v4[1] === '169' && v4[2] === '254') || /^fe[89ab]/.test(lower)) {
    return [fieldErrors.invalid(path, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
  }
  if ((v4 !== null && ip.startsWith('224.0.0.')) || lower.startsWith('ff02:')) {
    return [fieldErrors.invalid(path, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')];
  }
  return [];
}

function endpointAddress(a: EndpointAddress, path: string): FieldError[] {
  const ip = str(a.ip);
  const errors = invalidEach(`${path}.ip`, ip, ipErrors(ip));
  if (str(a.hostname) !== '') errors.push(...invalidEach(`${path}.hostname`, a.hostname, dns1123LabelErrors(str(a.hostname))));
  if (a.nodeName != null) errors.push(...invalidEach(`${path}.nodeName`, a.nodeName, nameIsDNSSubdomain(str(a.nodeName), false)));
  if (errors.length === 0) errors.push(...nonSpecialIP(ip, `${path}.ip`));
  return errors;
}

function endpointPort(p: EndpointPort, requireName: boolean, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const name = str(p.name);
  if (requireName && name === '') errors.push(fieldErrors.required(`${path}.name`));
  else if (name !== '') errors.push(...invalidEach(`${path}.name`, name, dns1123LabelErrors(name)));
  errors.push(...invalidEach(`${path}.port`, p.port ?? 0, portNumberErrors(p.port ?? 0)));
  const protocol = str(p.protocol);
  if (protocol === '') errors.push(fieldErrors.required(`${path}.protocol`));
  else if (!PORT_PROTOCOLS.includes(protocol)) errors.push(fieldErrors.notSupported(`${path}.protocol`, protocol, PORT_PROTOCOLS));
  return errors;
}

/** `ValidateEndpointsCreate`/`ValidateEndpointsUpdate`. */
export function validateEndpoints(obj: KubeObject): FieldError[] {
  const errors = validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' });
  list(shape<Endpoints>(obj).subsets).forEach((ss, i) => {
    const at = `subsets[${i}]`;
    const addresses = list(ss.addresses);
    const notReady = list(ss.notReadyAddresses);
    if (addresses.length === 0 && notReady.length === 0) errors.push(fieldErrors.required(at, 'must specify `addresses` or `notReadyAddresses`'));
    addresses.forEach((a, j) => errors.push(...endpointAddress(a, `${at}.addresses[${j}]`)));
    notReady.forEach((a, j) => errors.push(...endpointAddress(a, `${at}.notReadyAddresses[${j}]`)));
    const ports = list(ss.ports);
    ports.forEach((p, j) => errors.push(...endpointPort(p, ports.length > 1, `${at}.ports[${j}]`)));
  });
  return errors;
}

/** `ValidateServiceStatusUpdate`: load balancer ingress points are IPs or DNS names. */
export function validateServiceStatusUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errors = validateObjectMetaUpdate(obj.metadata, old.metadata);
  list(shape<Service>(obj).status?.loadBalancer?.ingress).forEach((ing, i) => {
    const at = `status.loadBalancer.ingress[${i}]`;
    const ip = str(ing.ip);
    const hostname = str(ing.hostname);
    if (ip !== '') errors.push(...invalidEach(`${at}.ip`, ip, ipErrors(ip).length > 0 ? ['must be a valid IP address'] : []));
    if (hostname !== '') {
      errors.push(...invalidEach(`${at}.hostname`, hostname, dns1123SubdomainErrors(hostname)));
      if (ipErrors(hostname).length === 0) errors.push(fieldErrors.invalid(`${at}.hostname`, hostname, 'must be a DNS name, not an IP address'));
    }
  });
  return errors;
}
