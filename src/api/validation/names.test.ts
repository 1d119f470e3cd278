import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrErrors,
  configMapKeyErrors,
  dns1035LabelErrors,
  dns1123LabelErrors,
  envVarNameErrors,
  ipErrors,
  nameIsDNSSubdomain,
  pathSegmentNameErrors,
  percentErrors,
  portNameErrors,
  portNumberErrors,
  relaxedEnvVarNameErrors,
} from './names.ts';

const LABEL_RULE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_RULE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY_RULE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const ENV_RULE =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

type Case = [name: string, actual: () => string[], expected: string[]];

const cases: Case[] = [
  ['a DNS label accepts lowercase, digits and inner dashes', () => dns1123LabelErrors('web-1'), []],
  ['a DNS label refuses capitals', () => dns1123LabelErrors('Web'), [LABEL_RULE]],
  ['a DNS label refuses a trailing dash', () => dns1123LabelErrors('web-'), [LABEL_RULE]],
  ['a DNS label longer than 63 is reported once for length', () => dns1123LabelErrors('a'.repeat(64)), ['must be no more than 63 characters']],
  ['a DNS-1035 label must start with a letter', () => dns1035LabelErrors('1web'), [DNS1035_RULE]],
  ['a generateName prefix may end in a dash', () => nameIsDNSSubdomain('web-', true), []],
  ['a name may not end in a dash', () => nameIsDNSSubdomain('web-', false).map((m) => m.slice(0, 30)), ['a lowercase RFC 1123 subdomain']],
  ['path segment names may be anything but . and ..', () => pathSegmentNameErrors('..', false), ["may not be '..'"]],
  ['path segment names may not contain / or %', () => pathSegmentNameErrors('a/b%c', false), ["may not contain '/'", "may not contain '%'"]],
  ['config keys allow dots and underscores', () => configMapKeyErrors('app.conf_1'), []],
  ['config keys refuse slashes', () => configMapKeyErrors('a/b'), [CONFIG_KEY_RULE]],
  ['config keys may not walk up', () => configMapKeyErrors('..data'), ["must not start with '..'"]],
  ['strict env names refuse a leading digit', () => envVarNameErrors('1X'), [ENV_RULE]],
  ['relaxed env names accept a leading digit', () => relaxedEnvVarNameErrors('1X'), []],
  [
    'relaxed env names refuse =',
    () => relaxedEnvVarNameErrors('A=B'),
    ["a valid environment variable name must consist only of printable ASCII characters other than '='"],
  ],
  ['port numbers run from 1 to 65535', () => portNumberErrors(0), ['must be between 1 and 65535, inclusive']],
  [
    'port names follow IANA_SVC_NAME',
    () => portNameErrors('-HTTP--'),
    [
      'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'must contain at least one letter (a-z)',
      'must not contain consecutive hyphens',
      'must not begin or end with a hyphen',
    ],
  ],
  ['port names are at most 15 characters', () => portNameErrors('a-very-long-port-name'), ['must be no more than 15 characters']],
  ['percentages end in %', () => percentErrors('25'), ["a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]],
  ['IPs may be v4 or v6', () => [...ipErrors('10.0.0.1'), ...ipErrors('fd00::1')], []],
  ['a host name is not an IP', () => ipErrors('example.com'), ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']],
  ['CIDRs need a prefix length in range', () => [...cidrErrors('10.0.0.0/24'), ...cidrErrors('10.0.0.0/33')], ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']],
];

describe('name and value rules report apimachinery\'s messages', () => {
  for (const [name, actual, expected] of cases) {
    it(name, () => {
      assert.deepEqual(actual(), expected);
    });
  }
});
