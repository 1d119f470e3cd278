/** First-start credentials of the cloud (CA, serving and admin certificates, admin token) and kubeconfig files. */
export { ensureCloudCredentials, credentialPaths, type CloudCredentials, type CloudCredentialsOptions, type CredentialPaths } from './credentials.ts';
export { renderKubeconfig, writeKubeconfig, type KubeconfigCredentials, type KubeconfigOptions } from './kubeconfig.ts';
