// GetParametersForImport: a fresh RSA wrapping key pair made in native code, its private half
// kept in the store wrapped under the root key, and an import token sealed under the root key
// that binds the KMS key, the wrapping key, the wrapping algorithm and the expiry (24 hours).
// For a key in a custom key store the wrapping key pair is made on the PKCS#11 token instead
// (./token.ts), and only its public key is stored.
import { randomBytes } from 'node:crypto';

import { UnsupportedOperationException, ValidationException } from '../../errors.js';
import { importParametersValidityMs, requireImportable } from '../../keys/import-keys.js';
import { nativeImports } from '../../keys/import-native.js';
import { ImportStore } from '../../keys/import-store.js';
import type { AlgorithmSpec, WrappingKeySpec } from '../../model/types.js';
import { native } from '../native-errors.js';
import { defineOperation } from '../operation.js';
import { sweepImportObjects } from '../../backends/token-orphans.js';
import { tokenParametersForImport, wrappingKeyStored } from './token.js';

/** The wrapping algorithm and key spec, refused as AWS refuses them. */
export function checkWrapping(keySpec: string, algorithm: AlgorithmSpec, wrappingKeySpec: WrappingKeySpec): void {
  if (algorithm === 'RSAES_PKCS1_V1_5')
    throw new ValidationException('The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.');
  if (algorithm === 'SM2PKE' || wrappingKeySpec === 'SM2')
    throw new UnsupportedOperationException('SM2 wrapping keys and the SM2PKE wrapping algorithm are not supported by embedded-kms (AWS offers them in its China Regions only).');
  if (keySpec.startsWith('RSA_') && algorithm.startsWith('RSAES_OAEP'))
    throw new ValidationException(
      `RSA key material cannot be wrapped with ${algorithm}: to import an RSA private key, use RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.`,
    );
}

export const getParametersForImport = defineOperation('GetParametersForImport', async (ctx, input) => {
  // AWS documents KeyId here as "key ID or key ARN": no aliases.
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  requireImportable(key, 'GetParametersForImport');
  checkWrapping(key.record.keySpec, input.WrappingAlgorithm, input.WrappingKeySpec);

  const now = ctx.now();
  const validTo = new Date(now.getTime() + importParametersValidityMs);
  const imports = new ImportStore(ctx.store);
  if (key.record.customKeyStoreId !== undefined) {
    const { parameters, importToken } = await tokenParametersForImport(ctx, key, input.WrappingKeySpec, input.WrappingAlgorithm, now, validTo);
    ctx.store.write(() => {
      imports.dropExpiredParameters(new Date(now.getTime() - importParametersValidityMs));
      imports.saveParameters(parameters);
    });
    wrappingKeyStored(ctx, key.record.keyId, parameters.wrappingKeyId);
    // Wrapping keys of expired parameters, or of deleted keys, leave the token.
    if (ctx.token) await sweepImportObjects(ctx.store, ctx.token, now).catch(() => 0);
    return { KeyId: key.arn, ImportToken: new Uint8Array(importToken), PublicKey: new Uint8Array(parameters.publicKey), ParametersValidTo: validTo };
  }
  const wrappingKeyId = randomBytes(32).toString('hex');
  // The wrapping private key is stored wrapped under the root key: refused below if another
  // process rotated the root key meanwhile (the call then runs again on the new one).
  const wrappedUnder = ctx.store.wrappingRootCheck;
  const generated = await native(
    nativeImports.generateWrappingKey(ctx.engine, key.record.keyId, wrappingKeyId, input.WrappingKeySpec, input.WrappingAlgorithm, validTo.getTime()),
  );
  ctx.store.write(() => {
    ctx.store.assertWrappingRoot(wrappedUnder);
    // Wrapping keys whose parameters expired a day ago are of no use to anyone.
    imports.dropExpiredParameters(new Date(now.getTime() - importParametersValidityMs));
    imports.saveParameters({
      wrappingKeyId,
      keyId: key.record.keyId,
      wrappingKeySpec: input.WrappingKeySpec,
      algorithm: input.WrappingAlgorithm,
      createdAt: now,
      validTo,
      wrappedPrivateKey: generated.wrappedPrivateKey,
      publicKey: generated.publicKey,
    });
  });
  return {
    KeyId: key.arn,
    ImportToken: new Uint8Array(generated.importToken),
    PublicKey: new Uint8Array(generated.publicKey),
    ParametersValidTo: validTo,
  };
});
