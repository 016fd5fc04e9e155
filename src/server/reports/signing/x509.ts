/**
 * @peculiar/x509, ready to use: its dependency injection (tsyringe) needs the Reflect
 * metadata polyfill loaded before it, and it signs through node's WebCrypto. Modules of
 * report signing import the library from here only.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
