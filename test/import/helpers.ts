// Helpers of the import suites: key material made and wrapped with Node's crypto alone (never
// with the code under test), and our SYMMETRIC_DEFAULT ciphertext format built and opened with
// Node's AES-GCM (DESIGN.md §4, native/include/ekms/ciphertext.hpp), so that symmetric material
// is checked from outside too.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

import type { AlgorithmSpec, Kms, KeySpec, WrappingKeySpec } from '../../src/index.js';

export interface Material {
  /** What ImportKeyMaterial expects: raw bytes, or DER PKCS#8. */
  bytes: Buffer;
  privateKey?: KeyObject;
  /** DER SubjectPublicKeyInfo, for asymmetric material. */
  publicKey?: Buffer;
}

const hmacBytes: Partial<Record<KeySpec, number>> = { HMAC_224: 28, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 };
const curves: Partial<Record<KeySpec, string>> = {
  ECC_NIST_P256: 'prime256v1',
  ECC_NIST_P384: 'secp384r1',
  ECC_NIST_P521: 'secp521r1',
  ECC_SECG_P256K1: 'secp256k1',
};

/** Fresh material for a key spec, made by Node. */
export function makeMaterial(spec: KeySpec): Material {
  if (spec === 'SYMMETRIC_DEFAULT') return { bytes: randomBytes(32) };
  const hmac = hmacBytes[spec];
  if (hmac !== undefined) return { bytes: randomBytes(hmac) };
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (spec.startsWith('RSA_')) pair = generateKeyPairSync('rsa', { modulusLength: Number(spec.slice(4)) });
  else if (spec === 'ECC_NIST_EDWARDS25519') pair = generateKeyPairSync('ed25519');
  else pair = generateKeyPairSync('ec', { namedCurve: curves[spec] as string });
  return {
    bytes: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    privateKey: pair.privateKey,
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }),
  };
}

function oaepHash(algorithm: AlgorithmSpec): string {
  return algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
}

/** EncryptedKeyMaterial as a caller outside makes it, with Node's RSA-OAEP and AES key wrap. */
export function wrapMaterial(material: Uint8Array, wrappingPublicKey: Uint8Array, algorithm: AlgorithmSpec, aesBits = 256): Buffer {
  const publicKey = createPublicKey({ key: Buffer.from(wrappingPublicKey), format: 'der', type: 'spki' });
  const oaep = (data: Uint8Array) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, data);
  if (algorithm.startsWith('RSAES_OAEP')) return oaep(material);
  const aesKey = randomBytes(aesBits / 8);
  const cipher = createCipheriv(`id-aes${aesBits}-wrap-pad`, aesKey, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([oaep(aesKey), cipher.update(material), cipher.final()]);
}

export interface ImportOptions {
  algorithm?: AlgorithmSpec;
  wrappingKeySpec?: WrappingKeySpec;
  expirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: Date;
  importType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
  keyMaterialId?: string;
  description?: string;
}

/** GetParametersForImport, Node's wrapping, ImportKeyMaterial. */
export async function importInto(kms: Kms, keyId: string, material: Uint8Array, o: ImportOptions = {}) {
  const algorithm = o.algorithm ?? 'RSA_AES_KEY_WRAP_SHA_256';
  const params = await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: o.wrappingKeySpec ?? 'RSA_2048' });
  return kms.importKeyMaterial({
    KeyId: keyId,
    ImportToken: params.ImportToken!,
    EncryptedKeyMaterial: wrapMaterial(material, params.PublicKey!, algorithm),
    ExpirationModel: o.expirationModel ?? (o.validTo ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE'),
    ...(o.validTo ? { ValidTo: o.validTo } : {}),
    ...(o.importType ? { ImportType: o.importType } : {}),
    ...(o.keyMaterialId ? { KeyMaterialId: o.keyMaterialId } : {}),
    ...(o.description ? { KeyMaterialDescription: o.description } : {}),
  });
}

/** A new EXTERNAL key (PendingImport). */
export async function externalKey(kms: Kms, spec: KeySpec = 'SYMMETRIC_DEFAULT', usage?: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT') {
  const meta = (await kms.createKey({ Origin: 'EXTERNAL', KeySpec: spec, ...(usage ? { KeyUsage: usage } : {}) })).KeyMetadata!;
  return meta;
}

// ------------------------------------------------------------------ our ciphertext format

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The canonical encoding of an encryption context: count, then sorted length-prefixed pairs. */
function encodeContext(context: Record<string, string> = {}): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(Buffer.byteLength(k)), Buffer.from(k), u32(Buffer.byteLength(v)), Buffer.from(v));
  return Buffer.concat(parts);
}

/** A SYMMETRIC_DEFAULT ciphertext made outside with the known AES key. */
export function sealOutside(keyId: string, materialId: string, aesKey: Buffer, plaintext: Buffer, context?: Record<string, string>): Buffer {
  const nonce = randomBytes(12);
  const header = Buffer.concat([Buffer.from([1, keyId.length]), Buffer.from(keyId), Buffer.from(materialId, 'hex'), nonce]);
  const cipher = createCipheriv('aes-256-gcm', aesKey, nonce);
  cipher.setAAD(Buffer.concat([header, encodeContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Opens a SYMMETRIC_DEFAULT ciphertext outside with the known AES key. */
export function openOutside(blob: Uint8Array, aesKey: Buffer, context?: Record<string, string>): { keyId: string; materialId: string; plaintext: Buffer } {
  const b = Buffer.from(blob);
  const idLen = b[1] as number;
  const headerLen = 2 + idLen + 32 + 12;
  const header = b.subarray(0, headerLen);
  const decipher = createDecipheriv('aes-256-gcm', aesKey, b.subarray(2 + idLen + 32, headerLen));
  decipher.setAAD(Buffer.concat([header, encodeContext(context)]));
  decipher.setAuthTag(b.subarray(b.length - 16));
  const plaintext = Buffer.concat([decipher.update(b.subarray(headerLen, b.length - 16)), decipher.final()]);
  return { keyId: b.subarray(2, 2 + idLen).toString(), materialId: b.subarray(2 + idLen, 2 + idLen + 32).toString('hex'), plaintext };
}
