// What each key spec can do, in AWS's terms: the key usages it allows and, per usage, the
// algorithm lists DescribeKey and GetPublicKey return — in AWS's order, since clients such as
// cosign take the first one.
import type {
  EncryptionAlgorithmSpec,
  KeyAgreementAlgorithmSpec,
  KeySpec,
  KeyUsageType,
  MacAlgorithmSpec,
  SigningAlgorithmSpec,
} from '../model/types.js';
import { addon } from '../native/addon.js';

export interface SpecInfo {
  usages: readonly KeyUsageType[];
  signing?: readonly SigningAlgorithmSpec[];
  encryption?: readonly EncryptionAlgorithmSpec[];
  keyAgreement?: readonly KeyAgreementAlgorithmSpec[];
  mac?: readonly MacAlgorithmSpec[];
  /** RSA modulus bytes: the OAEP plaintext limit depends on it. */
  modulusBytes?: number;
  /** Keys of this spec can be made here (false for specs AWS has and we cannot offer). */
  supported: boolean;
  /** Why a spec is not supported, for UnsupportedOperationException. */
  unsupportedReason?: string;
  /** Material is only generated here, never imported (Origin EXTERNAL is refused). */
  generatedOnly?: true;
}

const rsaSigning: readonly SigningAlgorithmSpec[] = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
];
const rsaEncryption: readonly EncryptionAlgorithmSpec[] = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];

function rsa(bits: number): SpecInfo {
  return {
    usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    signing: rsaSigning,
    encryption: rsaEncryption,
    modulusBytes: bits / 8,
    supported: true,
  };
}

function nistCurve(alg: SigningAlgorithmSpec): SpecInfo {
  return { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], signing: [alg], keyAgreement: ['ECDH'], supported: true };
}

function hmac(alg: MacAlgorithmSpec): SpecInfo {
  return { usages: ['GENERATE_VERIFY_MAC'], mac: [alg], supported: true };
}

const mlDsaKeys = mlDsa(); // one question to the addon for the three levels

export const keySpecs: Record<KeySpec, SpecInfo> = {
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: nistCurve('ECDSA_SHA_256'),
  ECC_NIST_P384: nistCurve('ECDSA_SHA_384'),
  ECC_NIST_P521: nistCurve('ECDSA_SHA_512'),
  ECC_SECG_P256K1: { usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_256'], supported: true },
  ECC_NIST_EDWARDS25519: {
    usages: ['SIGN_VERIFY'],
    signing: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
    supported: true,
  },
  SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], encryption: ['SYMMETRIC_DEFAULT'], supported: true },
  HMAC_224: hmac('HMAC_SHA_224'),
  HMAC_256: hmac('HMAC_SHA_256'),
  HMAC_384: hmac('HMAC_SHA_384'),
  HMAC_512: hmac('HMAC_SHA_512'),
  SM2: {
    usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'],
    signing: ['SM2DSA'],
    encryption: ['SM2PKE'],
    keyAgreement: ['ECDH'],
    supported: false,
    unsupportedReason: 'SM2 keys are not supported by embedded-kms (AWS offers them in its China Regions only).',
  },
  ML_DSA_44: mlDsaKeys,
  ML_DSA_65: mlDsaKeys,
  ML_DSA_87: mlDsaKeys,
};

// ML-DSA needs OpenSSL 3.5 (Debian 13), which the addon links statically: offered where it was built
// against one, refused with this reason where it was not (Debian 12's 3.0).
function mlDsa(): SpecInfo {
  const available = addon.mlDsa();
  return {
    usages: ['SIGN_VERIFY'],
    signing: ['ML_DSA_SHAKE_256'],
    supported: available,
    ...(available ? {} : { unsupportedReason: `ML-DSA keys need OpenSSL 3.5 or later; embedded-kms was built with ${addon.opensslVersion()}.` }),
    generatedOnly: true,
  };
}

/** Digest length in bytes of each signing algorithm, for MessageType DIGEST. */
export const digestLength: Partial<Record<SigningAlgorithmSpec, number>> = {
  RSASSA_PSS_SHA_256: 32,
  RSASSA_PSS_SHA_384: 48,
  RSASSA_PSS_SHA_512: 64,
  RSASSA_PKCS1_V1_5_SHA_256: 32,
  RSASSA_PKCS1_V1_5_SHA_384: 48,
  RSASSA_PKCS1_V1_5_SHA_512: 64,
  ECDSA_SHA_256: 32,
  ECDSA_SHA_384: 48,
  ECDSA_SHA_512: 64,
  ED25519_PH_SHA_512: 64,
};

/** Largest plaintext RSA-OAEP accepts: modulus − 2·hash − 2. */
export function oaepLimit(spec: KeySpec, alg: EncryptionAlgorithmSpec): number | undefined {
  const bytes = keySpecs[spec].modulusBytes;
  if (bytes === undefined) return undefined;
  const hash = alg === 'RSAES_OAEP_SHA_1' ? 20 : 32;
  return bytes - 2 * hash - 2;
}
