// Importing key material into a PKCS#11 token (AWS KMS's GetParametersForImport and
// ImportKeyMaterial for a key in a custom key store). The material is unwrapped inside the token
// with C_UnwrapKey, so it is never in this process in the clear:
//
// - The RSA wrapping key pair of GetParametersForImport is made on the token. Its private object
//   (CKA_ID "<keyId>/import-<wrappingKeyId>", this store's CKA_LABEL) may only unwrap
//   (CKA_UNWRAP; no CKA_DECRYPT, CKA_SIGN), is sensitive and never extractable, and stays on
//   the token while its parameters are valid; the public half is read and discarded.
// - RSAES_OAEP_SHA_*: C_UnwrapKey with CKM_RSA_PKCS_OAEP straight into the new secret key.
// - RSA_AES_KEY_WRAP_SHA_*: C_UnwrapKey with CKM_RSA_AES_KEY_WRAP where the token offers it;
//   else two steps inside the token: CKM_RSA_PKCS_OAEP unwraps the ephemeral AES key into a
//   session object (sensitive, CKA_UNWRAP only, destroyed afterwards), which then unwraps the
//   material with AES key wrap with padding (RFC 5649: CKM_AES_KEY_WRAP_KWP, or
//   CKM_AES_KEY_WRAP_PAD, which SoftHSM2 implements as RFC 5649) into a secret key, or into a
//   private key from PKCS#8.
// - Where the token lacks a mechanism, or refuses its parameters (SoftHSM2 2.6.1 allows OAEP
//   with SHA-1 only), the import fails with Unsupported naming it. There is no fallback that
//   decrypts in this process.
//
// The imported object gets the protections of generated token keys (token_key.hpp) under a
// pending CKA_ID; its material id is then computed inside the token with the derivation of
// import.hpp (AES: AES-ECB of a zero block; HMAC: CKM_SHA256_HMAC; asymmetric: the public key),
// so the same material gets the same id as in software, and commitImportedObject gives the
// object its final CKA_ID "<keyId>/<materialId>". The public key of an asymmetric key: RSA
// private objects carry CKA_MODULUS and CKA_PUBLIC_EXPONENT; an EC private key's point is
// recovered from two signatures of a session copy (ec_recover.hpp), and checked by a software
// verify. The same session copy (CKA_SIGN only, destroyed afterwards) proves that an RSA key's
// halves belong together. Ed25519 keys are refused: neither the point nor a way to compute it
// can be had from the token.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ekms/bytes.hpp"
#include "ekms/pkcs11/token.hpp"

namespace ekms::pkcs11 {

// CKA_ID of the wrapping key of one GetParametersForImport.
std::string wrappingTokenRef(const std::string& keyId, const std::string& wrappingKeyId);

// Throws Unsupported (with the reason) when keys of this spec cannot take imported material on a
// token at all, whatever the wrapping algorithm.
void checkTokenImportable(const std::string& keySpec);

struct TokenWrappingKey {
  std::string tokenRef;
  Bytes publicKey;  // DER SubjectPublicKeyInfo
  bool guarded = false;  // made with every protection below (false: the token refused some)
};

// Makes the wrapping key pair on the token. Checks first that the token has the mechanisms the
// wrapping algorithm needs, and afterwards that it accepts its OAEP parameters (a refused hash is
// found now rather than at ImportKeyMaterial): Unsupported naming the mechanism otherwise, and
// nothing is left on the token. The private half can only unwrap, with the algorithm's one
// mechanism (CKA_ALLOWED_MECHANISMS); its attributes cannot be changed (CKA_MODIFIABLE) nor the
// object copied (CKA_COPYABLE), and it unwraps only into sensitive, non-extractable objects
// (CKA_UNWRAP_TEMPLATE), so that while it lasts (24 hours) whoever has the PIN and an import's
// EncryptedKeyMaterial can make no copy of the material that leaves the token. The template is
// left out where the length check of the material (keySpec, algorithm) may need a copy the token
// can wrap (unwrap.cpp, needsWrappableCopy); the protections a token refuses are left out
// (guarded false: the first two at least).
TokenWrappingKey generateTokenWrappingKey(const std::shared_ptr<Token>& token, const std::string& keyId,
                                          const std::string& wrappingKeyId, const std::string& wrappingKeySpec,
                                          const std::string& algorithm, const std::string& keySpec, const std::string& storeId);

struct TokenImported {
  std::string materialId;
  std::string legacyMaterialId;  // HMAC material: its id before (CheckedMaterial, import.hpp)
  Bytes publicKey;  // DER SubjectPublicKeyInfo; empty for symmetric keys
};

// Unwraps encryptedKeyMaterial inside the token into a token object with CKA_ID pendingRef.
// Throws InvalidCiphertext when it does not unwrap with the wrapping key and algorithm,
// InvalidInput when the material does not fit keySpec (the object is destroyed then),
// InvalidKeyBlob when the wrapping key is no longer on the token, Unsupported as above.
TokenImported unwrapIntoToken(const std::shared_ptr<Token>& token, const std::string& keySpec, const std::string& keyUsage,
                              const std::string& keyId, const std::string& storeId, const std::string& wrappingRef,
                              const std::string& algorithm, const std::string& pendingRef, ByteView encryptedKeyMaterial);

// Gives the pending object its final CKA_ID; when an object with finalRef exists already (the
// same material imported before: its id is derived from the material), the pending one is
// destroyed instead. Returns true when it renamed. Only objects one of `owners` made (CKA_LABEL)
// count, under either name: another store's object under pendingRef is neither renamed nor
// destroyed (a restored copy cannot claim an object its original still uses), and one under
// finalRef does not stop ours from taking the name too.
bool commitImportedObject(const std::shared_ptr<Token>& token, const std::string& pendingRef, const std::string& finalRef,
                          const std::vector<std::string>& owners);

}  // namespace ekms::pkcs11
