/**
 * The one entry point to `@peculiar/x509` in kedge: importing the library directly would load it
 * before its Reflect polyfill (see ./reflect-metadata.ts) and without a crypto provider.
 */
import './reflect-metadata.ts';
import { cryptoProvider } from '@peculiar/x509';

// Node's WebCrypto; set explicitly so that the library never falls back to another implementation.
cryptoProvider.set(globalThis.crypto);

export * from '@peculiar/x509';
