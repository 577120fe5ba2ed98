// embedded-kms: AWS KMS's API over keys that live in native memory or a PKCS#11 token.
export { Kms, KeyStoreOpenError } from './kms.js';
export type { KmsOptions, Pkcs11Options } from './config.js';
export * from './errors.js';
export type * from './model/types.js';
export type { OperationName } from './model/service-model.js';
export { operationTable } from './operations/table.js';
export { publicNative as native } from './native/addon.js';
export { startServer, EndpointConfigError, type ServerHandle, type ServerOptions } from './endpoint/index.js';
export { createInProcessHandler, type InProcessHandler } from './client/in-process-handler.js';
export * from './durability/index.js';
