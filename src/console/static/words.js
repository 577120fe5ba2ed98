// How the console names AWS values in its pages.

export const USAGE_LABEL = {
  ENCRYPT_DECRYPT: 'Encrypt and decrypt',
  SIGN_VERIFY: 'Sign and verify',
  KEY_AGREEMENT: 'Key agreement',
  GENERATE_VERIFY_MAC: 'Generate and verify MAC',
};

/** The order the usage choices appear in, as in AWS's console. */
export const USAGE_ORDER = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT', 'GENERATE_VERIFY_MAC'];

export const TYPE_LABEL = { SYMMETRIC: 'Symmetric', ASYMMETRIC: 'Asymmetric' };

export const TYPE_HINT = {
  SYMMETRIC: 'A single key for encrypting and decrypting data, or for generating and verifying HMAC codes. It never leaves embedded-kms.',
  ASYMMETRIC: 'A key pair for public key encryption, signing or key agreement. The public key can be downloaded; the private key never leaves embedded-kms.',
};

export const SOFTWARE_STORE = 'AWS_KMS';
export const SOFTWARE_STORE_LABEL = 'AWS KMS (software key, wrapped under the store\'s root key)';

/** The key type of a key spec, from the server's catalog. */
export function keyTypeOf(ctx, keySpec) {
  return ctx.KeySpecs.find((s) => s.KeySpec === keySpec)?.KeyType;
}

/** The key store a key lives in, by the custom key store's name when known. */
export function storeOf(meta, stores) {
  if (!meta.CustomKeyStoreId) return 'AWS KMS (software)';
  const store = stores.find((s) => s.CustomKeyStoreId === meta.CustomKeyStoreId);
  return store ? `${store.CustomKeyStoreName} (${meta.CustomKeyStoreId})` : meta.CustomKeyStoreId;
}

/** The custom key stores (PKCS#11 tokens), or none when this build cannot list them. */
export async function customKeyStores(ctx, kms) {
  if (!ctx.Operations.includes('DescribeCustomKeyStores')) return [];
  return (await kms('DescribeCustomKeyStores', {})).CustomKeyStores ?? [];
}
