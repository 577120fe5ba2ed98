// The custom key stores of this key store: at most one, the configured PKCS#11 token.
import type { TokenBackend } from '../../backends/token.js';
import { CustomKeyStoreNotFoundException } from '../../errors.js';
import type { OperationContext } from '../operation.js';

export function notFound(idOrName: string): CustomKeyStoreNotFoundException {
  return new CustomKeyStoreNotFoundException(`Custom key store ${idOrName} does not exist.`);
}

/** The token a CustomKeyStoreId parameter names, or CustomKeyStoreNotFoundException. */
export function customKeyStore(ctx: OperationContext, id: string): TokenBackend {
  if (ctx.token === undefined || ctx.token.customKeyStoreId !== id) throw notFound(id);
  return ctx.token;
}
