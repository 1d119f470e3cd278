import { isIP } from 'node:net';

// One DNS label: letters, digits, hyphens inside; underscores allowed because real service names
// (e.g. `_etcd-server._tcp`) use them and Go accepts them in SANs.
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*\\.?$`);

/** True for a name that may go into a DNS subject alternative name, including `*.example.com`. */
export function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && DNS_NAME.test(name);
}

/**
 * The canonical text of an IP address (`::1`, not `0:0:0:0:0:0:0:1`; zone ids dropped), so SAN
 * lists from certificates, flags and `os.networkInterfaces()` compare equal. Undefined when `ip`
 * is not an address.
 */
export function canonicalIp(ip: string): string | undefined {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return new URL(`http://${bare}/`).hostname;
  if (family === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return undefined;
}

/**
 * Splits user-supplied SANs (e.g. `--tls-san` values) into DNS names and IP addresses, the way
 * Kubernetes tools do: anything that parses as an IP is an IP.
 */
export function classifySans(sans: readonly string[]): { dnsNames: string[]; ipAddresses: string[]; invalid: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const invalid: string[] = [];
  for (const raw of sans) {
    const san = raw.trim();
    const ip = canonicalIp(san);
    if (ip !== undefined) ipAddresses.push(ip);
    else if (isDnsName(san)) dnsNames.push(san.toLowerCase());
    else invalid.push(raw);
  }
  return { dnsNames, ipAddresses, invalid };
}

/** Order-preserving de-duplication. */
export function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}
