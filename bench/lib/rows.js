// The operations table of `npm run bench`: one entry per (operation, key spec, algorithm). Each
// entry knows how to make its key, how to call the operation through the public Kms API, and
// which baselines it is compared with.
import crypto from 'node:crypto';

import { opensslAlgorithms } from './openssl.js';

const digestBytes = { ECDSA_SHA_256: 32, ECDSA_SHA_384: 48, RSASSA_PKCS1_V1_5_SHA_256: 32, RSASSA_PSS_SHA_256: 32 };

const signing = [
  { spec: 'ECC_NIST_P256', alg: 'ECDSA_SHA_256' },
  { spec: 'RSA_2048', alg: 'RSASSA_PKCS1_V1_5_SHA_256' },
  { spec: 'RSA_2048', alg: 'RSASSA_PSS_SHA_256' },
  { spec: 'ECC_NIST_P384', alg: 'ECDSA_SHA_384' },
  { spec: 'ECC_SECG_P256K1', alg: 'ECDSA_SHA_256' },
  { spec: 'ECC_NIST_EDWARDS25519', alg: 'ED25519_SHA_512' },
];

/** Rows a PKCS#11 token backend runs too (a subset, to keep the run short). */
const tokenRows = new Set(['Sign ECC_NIST_P256 ECDSA_SHA_256', 'Sign RSA_2048 RSASSA_PKCS1_V1_5_SHA_256', 'Verify ECC_NIST_P256 ECDSA_SHA_256']);

export function buildRows({ messageType, size = 4096 }) {
  const rows = [];
  for (const { spec, alg } of signing) {
    for (const op of ['Sign', 'Verify']) {
      const type = alg.startsWith('ED25519') ? 'RAW' : messageType;
      const message = crypto.randomBytes(type === 'DIGEST' ? digestBytes[alg] : 32);
      const field = op === 'Sign' ? 'sign' : 'verify';
      rows.push({
        id: `${op} ${spec} ${alg}`,
        operation: op,
        spec,
        detail: `${alg} ${type}`,
        key: { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' },
        token: tokenRows.has(`${op} ${spec} ${alg}`),
        async prepare(kms, keyId) {
          const input = { KeyId: keyId, Message: message, MessageType: type, SigningAlgorithm: alg };
          if (op === 'Sign') return () => kms.sign(input);
          const { Signature } = await kms.sign(input);
          const v = { ...input, Signature };
          return () => kms.verify(v);
        },
        openssl: opensslAlgorithms[spec] && { label: `openssl speed ${opensslAlgorithms[spec]} ${field}`, alg: opensslAlgorithms[spec], field },
        node: { factory: field, args: { spec, alg, message }, key: `${field} ${spec} ${alg}` },
      });
    }
  }
  const oaepPt = crypto.randomBytes(32);
  rows.push({
    id: 'Decrypt RSA_2048 RSAES_OAEP_SHA_256',
    operation: 'Decrypt',
    spec: 'RSA_2048',
    detail: 'RSAES_OAEP_SHA_256',
    key: { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' },
    async prepare(kms, keyId) {
      const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: oaepPt, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
      return () => kms.decrypt({ KeyId: keyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    },
    // openssl speed (3.0) times the RSA private operation as "sign": the same cost as a decrypt.
    openssl: { label: 'openssl speed rsa2048 sign (private op)', alg: 'rsa2048', field: 'sign' },
    node: { factory: 'rsaOaepDecrypt', args: { spec: 'RSA_2048' }, key: 'oaep RSA_2048' },
  });
  const pt = crypto.randomBytes(size);
  const sizeLabel = `${size / 1024} KiB`;
  rows.push({
    id: 'Encrypt SYMMETRIC_DEFAULT',
    operation: 'Encrypt',
    spec: 'SYMMETRIC_DEFAULT',
    detail: sizeLabel,
    key: { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' },
    token: true,
    async prepare(kms, keyId) {
      return () => kms.encrypt({ KeyId: keyId, Plaintext: pt });
    },
    openssl: { label: `openssl speed -evp aes-256-gcm ${sizeLabel}`, sym: 'gcm4k' },
    node: { factory: 'gcmEncrypt', args: { size }, key: 'gcm-enc' },
  });
  rows.push({
    id: 'Decrypt SYMMETRIC_DEFAULT',
    operation: 'Decrypt',
    spec: 'SYMMETRIC_DEFAULT',
    detail: sizeLabel,
    key: { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' },
    token: true,
    async prepare(kms, keyId) {
      const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: pt });
      return () => kms.decrypt({ CiphertextBlob });
    },
    openssl: { label: `openssl speed -evp aes-256-gcm ${sizeLabel}`, sym: 'gcm4k' },
    node: { factory: 'gcmDecrypt', args: { size }, key: 'gcm-dec' },
  });
  rows.push({
    id: 'GenerateDataKey SYMMETRIC_DEFAULT',
    operation: 'GenerateDataKey',
    spec: 'SYMMETRIC_DEFAULT',
    detail: 'AES_256',
    key: { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' },
    async prepare(kms, keyId) {
      return () => kms.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
    },
    node: { factory: 'dataKey', args: {}, key: 'datakey' },
  });
  const macMsg = crypto.randomBytes(size);
  rows.push({
    id: 'GenerateMac HMAC_256',
    operation: 'GenerateMac',
    spec: 'HMAC_256',
    detail: `HMAC_SHA_256 ${sizeLabel}`,
    key: { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
    async prepare(kms, keyId) {
      return () => kms.generateMac({ KeyId: keyId, Message: macMsg, MacAlgorithm: 'HMAC_SHA_256' });
    },
    openssl: { label: `openssl speed -hmac sha256 ${sizeLabel}`, sym: 'hmac4k' },
    node: { factory: 'hmac', args: { size }, key: 'hmac' },
  });
  return rows;
}
