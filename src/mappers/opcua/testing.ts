/**
 * A real OPC UA device for tests: a node-opcua server on a free loopback port with a few
 * variables (a read-only temperature, a writable setpoint, a counter, a switch), security None and
 * Basic256Sha256 (Sign, SignAndEncrypt) with user names and passwords, its PKI in a temporary
 * directory. Values are set and read in-process; the server can be stopped and started again on
 * the same port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OPCUAServer, UAVariable } from 'node-opcua';

/** The variables, their OPC UA types, initial values and whether clients may write them. */
export const TEST_VARIABLES = {
  Temperature: { dataType: 'Double', value: 21.5, writable: false },
  Setpoint: { dataType: 'Double', value: 20, writable: true },
  Counter: { dataType: 'Int32', value: 0, writable: true },
  Switch: { dataType: 'Boolean', value: false, writable: true },
  Label: { dataType: 'String', value: 'boiler', writable: true },
} as const;
export type TestVariable = keyof typeof TEST_VARIABLES;

/** Options of {@link OpcuaTestServer.start}. */
export interface OpcuaTestServerOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** User name → password; anonymous access is refused when set. */
  readonly users?: Readonly<Record<string, string>>;
}

/** One node-opcua server. */
export class OpcuaTestServer {
  readonly #dir: string;
  readonly #options: OpcuaTestServerOptions;
  #server: OPCUAServer | undefined;
  #port = 0;
  readonly #variables = new Map<TestVariable, UAVariable>();
  /** The namespace index of the variables (`ns=<n>;s=<Name>`). */
  namespaceIndex = 1;

  private constructor(dir: string, options: OpcuaTestServerOptions) {
    this.#dir = dir;
    this.#options = options;
  }

  static async start(options: OpcuaTestServerOptions = {}): Promise<OpcuaTestServer> {
    const s = new OpcuaTestServer(await mkdtemp(join(tmpdir(), 'kedge-opcua-server-')), options);
    await s.#launch(options.port ?? 0);
    return s;
  }

  get port(): number {
    return this.#port;
  }

  /** `opc.tcp://127.0.0.1:<port>/UA/kedge`. */
  get url(): string {
    return `opc.tcp://127.0.0.1:${this.#port}/UA/kedge`;
  }

  /** The node id of a variable. */
  nodeId(name: TestVariable): string {
    return `ns=${this.namespaceIndex};s=${name}`;
  }

  async #launch(port: number): Promise<void> {
    const opcua = await import('node-opcua');
    const users = this.#options.users;
    const serverCertificateManager = new opcua.OPCUACertificateManager({ rootFolder: join(this.#dir, 'pki'), automaticallyAcceptUnknownCertificate: true });
    const server = new opcua.OPCUAServer({
      port: port === 0 ? await freePort() : port,
      hostname: '127.0.0.1',
      resourcePath: '/UA/kedge',
      serverCertificateManager,
      securityPolicies: [opcua.SecurityPolicy.None, opcua.SecurityPolicy.Basic256Sha256],
      securityModes: [opcua.MessageSecurityMode.None, opcua.MessageSecurityMode.Sign, opcua.MessageSecurityMode.SignAndEncrypt],
      allowAnonymous: users === undefined,
      ...(users !== undefined ? { userManager: { isValidUser: (user: string, password: string) => users[user] === password } } : {}),
      buildInfo: { productName: 'kedge test device' },
    });
    await server.initialize();
    const ns = server.engine.addressSpace!.getOwnNamespace();
    this.namespaceIndex = ns.index;
    const folder = ns.addFolder(server.engine.addressSpace!.rootFolder.objects, { browseName: 'Boiler' });
    for (const [name, def] of Object.entries(TEST_VARIABLES)) {
      const v = ns.addVariable({
        componentOf: folder,
        browseName: name,
        nodeId: `s=${name}`,
        dataType: def.dataType,
        accessLevel: def.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        userAccessLevel: def.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        value: { dataType: opcua.DataType[def.dataType], value: def.value },
      });
      this.#variables.set(name as TestVariable, v);
    }
    await server.start();
    this.#server = server;
    this.#port = Number(new URL(server.getEndpointUrl().replace('opc.tcp', 'http')).port);
  }

  /** Sets a variable's value as the device would. */
  async set(name: TestVariable, value: number | boolean | string): Promise<void> {
    const opcua = await import('node-opcua');
    this.#variable(name).setValueFromSource({ dataType: opcua.DataType[TEST_VARIABLES[name].dataType], value });
  }

  /** A variable's current value. */
  get(name: TestVariable): unknown {
    return this.#variable(name).readValue().value.value;
  }

  #variable(name: TestVariable): UAVariable {
    const v = this.#variables.get(name);
    if (v === undefined) throw new Error(`no variable ${name} (is the server running?)`);
    return v;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Stops the server (the device goes away). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    this.#variables.clear();
    await s?.shutdown(0);
  }

  /** Starts it again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#launch(this.#port);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
