import pkg from '../../package.json' with { type: 'json' };

/** The kedge version, from package.json: what the node reports as its kubelet version. */
export const KEDGE_VERSION: string = pkg.version;
