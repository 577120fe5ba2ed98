// The custom key stores of this key store: at most one, the configured PKCS#11 token.
import type { TokenBackend } from '../../backends/token.js';
import { CustomKeyStoreInvalidStateException, CustomKeyStoreNotFoundException } from '../../errors.js';
import type { OperationContext } from '../operation.js';

export function notFound(idOrName: string): CustomKeyStoreNotFoundException {
  return new CustomKeyStoreNotFoundException(`Custom key store ${idOrName} does not exist.`);
}

/** The token a CustomKeyStoreId parameter names, or CustomKeyStoreNotFoundException. */
export function customKeyStore(ctx: OperationContext, id: string): TokenBackend {
  if (ctx.token === undefined || ctx.token.customKeyStoreId !== id) throw notFound(id);
  return ctx.token;
}

/** The token itself when it is connected, else CustomKeyStoreInvalidStateException (work that needs it: CreateKey, GenerateRandom). */
export function requireConnected(token: TokenBackend): TokenBackend {
  if (token.describe().ConnectionState !== 'CONNECTED')
    throw new CustomKeyStoreInvalidStateException(`Custom key store ${token.customKeyStoreId} is not connected.`);
  return token;
}
