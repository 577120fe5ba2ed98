// Importing key material (AWS KMS's GetParametersForImport and ImportKeyMaterial), native half.
//
// GetParametersForImport makes a fresh RSA wrapping key pair here. Its private key leaves this
// code only wrapped under the root key (bound to the KMS key, the wrapping key spec and the
// wrapping key's id), and the import token is a small blob sealed under the root key that names
// the KMS key, the wrapping key, the wrapping algorithm and the time the parameters expire:
//
//   "EKIT" | version (1) | wrapping key id (32) | RootKey::wrap(token identity, payload)
//   payload = valid-to milliseconds (8, big-endian) | len | wrapping key spec | len | algorithm
//
// so a token altered, made by another store (another root key) or presented with another KMS
// key does not open. ImportKeyMaterial unwraps the caller's EncryptedKeyMaterial with that
// private key (RSAES_OAEP_SHA_*: OAEP over the material; RSA_AES_KEY_WRAP_SHA_*: an OAEP-wrapped
// ephemeral AES key followed by the material under AES Key Wrap with Padding, RFC 5649, as
// PKCS#11's CKM_RSA_AES_KEY_WRAP), checks that the material fits the key spec, and returns it in
// the form software keys keep (raw bytes, or a canonical PKCS#8 re-encoding) with its material
// id. The plaintext material exists only inside these calls, in wiping buffers.
//
// Material ids of imported material are derived, so that importing the same material into the
// same key id gives the same id (a reimport after DeleteImportedKeyMaterial or expiry, another
// store seeded with the same fixture): ciphertexts made before name a material that exists again.
//   SYMMETRIC_DEFAULT: SHA-256("ekms imported key material v1" 0 keyId 0 AES_K(0^128))
//   HMAC:              SHA-256("ekms imported key material v1" 0 keyId 0 M), where
//                      M = HMAC-SHA-256(key = material, "ekms imported key material v1" 0 keyId)
//   asymmetric:        SHA-256("ekms imported key material v1" 0 keyId 0 SubjectPublicKeyInfo)
// The first two hash keyed check values of the secret (nothing about the material can be learnt
// from them but equality), which a PKCS#11 token can compute without the key leaving it
// (CKM_AES_ECB, CKM_SHA256_HMAC); the last depends on public data only.
//
// An HMAC id used to be M itself. M is what GenerateMac returns for that message under an
// HMAC_256 key, so a store's clear columns held a valid MAC made with the key. Material imported
// so keeps its id: a reimport recognises it by legacyMaterialId.
#pragma once

#include <cstdint>
#include <string>

#include "ekms/bytes.hpp"
#include "ekms/root_key.hpp"

namespace ekms {

struct WrappingAlgorithmInfo {
  const char* name;        // AWS AlgorithmSpec
  const char* oaepDigest;  // OpenSSL digest name for OAEP and MGF1
  bool aesKeyWrap;         // RSA_AES_KEY_WRAP_*: OAEP-wrapped AES key, then RFC 5649
};

// The wrapping algorithms this build accepts; throws Unsupported for RSAES_PKCS1_V1_5 and SM2PKE
// (AWS no longer accepts the first; the second exists only in AWS China Regions), InvalidInput
// for anything else.
const WrappingAlgorithmInfo& wrappingAlgorithm(const std::string& name);
// Modulus bits of a WrappingKeySpec (RSA_2048, RSA_3072, RSA_4096); Unsupported for SM2.
int wrappingKeyBits(const std::string& wrappingKeySpec);

struct ImportParameters {
  std::string keyId;
  std::string wrappingKeyId;  // 64 lowercase hex characters
  std::string wrappingKeySpec;
  std::string algorithm;
  int64_t validToMs = 0;
};

struct WrappingKey {
  Bytes wrappedPrivateKey;  // under the root key, bound to keyId, wrapping key spec and id
  Bytes publicKey;          // DER SubjectPublicKeyInfo, for GetParametersForImport's PublicKey
  Bytes importToken;
};

WrappingKey generateWrappingKey(const RootKey& root, const ImportParameters& params);
Bytes sealImportToken(const RootKey& root, const ImportParameters& params);
// False (and `out` untouched) for anything that is not an intact token of this root key for keyId.
bool openImportToken(const RootKey& root, const std::string& keyId, ByteView token, ImportParameters& out);

// The caller's key material, unwrapped. Throws InvalidCiphertext when it does not decrypt with
// the wrapping key and algorithm of `params`, InvalidKeyBlob when the wrapped private key does
// not unwrap under this root key.
SecretBytes unwrapKeyMaterial(const RootKey& root, const ImportParameters& params, ByteView wrappedPrivateKey,
                              ByteView encryptedKeyMaterial);

struct CheckedMaterial {
  SecretBytes material;    // raw bytes (AES, HMAC) or canonical PKCS#8 DER
  Bytes publicKey;         // DER SubjectPublicKeyInfo; empty for symmetric keys
  std::string materialId;  // 64 lowercase hex characters, derived as above
  // HMAC material: the id the first derivation gave it (M, in hex), which material imported
  // before keeps; empty for other specs.
  std::string legacyMaterialId;
};

// The parts of the material id derivation above that a PKCS#11 token needs: it computes the check
// value (AES_K(0^128), or M: HMAC-SHA-256 under the material of hmacMaterialIdMessage) itself, so
// the material never leaves it, and gets the same ids as software keys.
std::string materialIdFromCheckValue(const std::string& keyId, ByteView checkValue);
Bytes hmacMaterialIdMessage(const std::string& keyId);
// Throws InvalidInput (with the same words as checkImportedMaterial) when secret material of n
// bytes does not fit a SYMMETRIC_DEFAULT or HMAC key spec.
void checkSecretMaterialLength(const std::string& keySpec, std::size_t n);

// Checks that material fits keySpec (AES-256: 32 bytes; HMAC_224 28–64, HMAC_256 32–64,
// HMAC_384 48–128, HMAC_512 64–128 bytes; asymmetric: a PKCS#8 private key of the spec's type,
// size or curve whose public and private halves agree). Throws InvalidInput naming what is wrong
// (never the material itself).
CheckedMaterial checkImportedMaterial(const std::string& keySpec, const std::string& keyId, ByteView material);

// AES Key Wrap with Padding (RFC 5649) with a 16-, 24- or 32-byte key. Unwrap throws
// InvalidCiphertext when the integrity check fails.
Bytes aesKeyWrapPad(ByteView kek, ByteView plaintext);
SecretBytes aesKeyUnwrapPad(ByteView kek, ByteView wrapped);

}  // namespace ekms
