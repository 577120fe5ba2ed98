// Imported key material on a PKCS#11 token (a custom key store) would be unwrapped inside the
// token (C_UnwrapKey), so that it is never in this process in the clear. That is not implemented
// yet: keys with Origin EXTERNAL are software keys (their material wrapped under the store's root
// key), also on a store whose default is a token, as AWS KMS does not import into custom key
// stores either; asking for one in a custom key store is refused with the missing piece named.
import { CustomKeyStoreNotFoundException, UnsupportedOperationException } from '../../errors.js';
import type { LoadedKey } from '../../keys/registry.js';
import type { OperationContext } from '../operation.js';

const missing =
  'importing key material into a PKCS#11 token is not implemented by embedded-kms yet (it needs C_UnwrapKey inside the token, ' +
  'with CKM_RSA_AES_KEY_WRAP or CKM_RSA_PKCS_OAEP and CKM_AES_KEY_WRAP_KWP)';

/** CreateKey with Origin EXTERNAL and a CustomKeyStoreId. */
export function externalKeyOnTokenRefusal(ctx: OperationContext, customKeyStoreId: string): Error {
  if (ctx.token === undefined || ctx.token.customKeyStoreId !== customKeyStoreId)
    return new CustomKeyStoreNotFoundException(`Custom key store ${customKeyStoreId} does not exist.`);
  return new UnsupportedOperationException(
    `Keys with Origin EXTERNAL cannot be created in custom key store ${customKeyStoreId}: ${missing}. Create the key without CustomKeyStoreId; its imported material is then protected by the key store's root key.`,
  );
}

/** An EXTERNAL key recorded in a custom key store (none is made today). */
export function tokenImportUnsupported(key: LoadedKey): UnsupportedOperationException {
  return new UnsupportedOperationException(`${key.arn} is in custom key store ${key.record.customKeyStoreId}: ${missing}.`);
}
