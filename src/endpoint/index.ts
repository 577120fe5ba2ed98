// The AWS JSON 1.1 endpoint: `startServer(kms, options)`, and the request processing it shares
// with the in-process SDK handler.
export { startServer, EndpointConfigError, type ServerHandle, type ServerOptions, type AuthMode } from './server.js';
export { processRequest, type WireRequest, type WireResponse, type ProcessOptions } from './wire.js';
export { loadAccessKeys, parseAccessKeyList, readAccessKeyFile, AccessKeysError, type AccessKeys } from './access-keys.js';
export { isLoopbackHost } from './guard.js';
