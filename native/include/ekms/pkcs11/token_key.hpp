// KMS keys whose private or secret part lives on a PKCS#11 token.
//
// Naming of token objects (each key material is one object, or a private/public pair):
//   CKA_ID    = "<keyId>/<materialId>" in ASCII: the tokenRef the metadata store keeps;
//   CKA_LABEL = "ekms <storeId> <keyId>": readable in any PKCS#11 tool, and it tells which key
//               store made the object, so orphan cleanup (objects whose key record is gone, e.g.
//               after a crash between generation and the store's commit) can list its own
//               objects and leave other stores' alone on a shared token.
// Private and secret objects: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false,
// and only the usage of the KMS key (CKA_SIGN, CKA_DECRYPT, CKA_DERIVE …). Public objects are
// kept on the token too (CKA_PRIVATE false) so the token alone can rebuild a key's public half.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ekms/key_cache.hpp"
#include "ekms/pkcs11/token.hpp"

namespace ekms::pkcs11 {

std::string tokenRefOf(const KeyIdentity& id);
std::string labelOf(const std::string& storeId, const std::string& keyId);

struct GeneratedTokenKey {
  std::string tokenRef;
  Bytes publicKey;  // DER SubjectPublicKeyInfo; empty for symmetric keys
  std::shared_ptr<const Key> key;
};

// usage is the KMS KeyUsage (ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT).
GeneratedTokenKey generateTokenKey(const std::shared_ptr<Token>& token, const KeyIdentity& id,
                                   const std::string& usage, const std::string& storeId);

// A usable key for an existing token object. publicKeyDer may be empty: the public half is then
// read from the token's public object.
// `owners`: of several objects with the tokenRef's CKA_ID, the key uses one that a store among
// them made, if there is one (a store and a copy restored from its backup may each have one).
std::shared_ptr<const Key> loadTokenKey(const std::shared_ptr<Token>& token, const KeyIdentity& id,
                                        const std::string& tokenRef, ByteView publicKeyDer,
                                        const std::vector<std::string>& owners = {});

// Destroys every object with this tokenRef's CKA_ID; returns how many there were.
std::size_t destroyTokenKey(const std::shared_ptr<Token>& token, const std::string& tokenRef);

// Whether `label` (a CKA_LABEL, "ekms <storeId> <keyId>") names one of `owners` as the store that
// made its object.
bool labelNamesOneOf(ByteView label, const std::vector<std::string>& owners);

struct TokenDestruction {
  std::size_t destroyed = 0;
  // Objects with the tokenRef that another store made, left on the token.
  std::size_t othersKept = 0;
};
// Destroys the objects with this tokenRef's CKA_ID that one of `owners` made (by CKA_LABEL), and
// leaves the others: a store restored from a backup shares the original's objects, and deleting a
// key there must not destroy what the original still uses (src/durability/restore.ts).
TokenDestruction destroyOwnedTokenKey(const std::shared_ptr<Token>& token, const std::string& tokenRef,
                                      const std::vector<std::string>& owners);

// How many objects with this tokenRef's CKA_ID a store other than `owners` made (by CKA_LABEL):
// what a deletion that destroyed, or found, none of its own leaves to another store. Reads labels
// only.
std::size_t countOthersTokenObjects(const std::shared_ptr<Token>& token, const std::string& tokenRef,
                                    const std::vector<std::string>& owners);

// The tokenRefs of the private and secret objects a key store made (by CKA_LABEL), or any of `owners`.
std::vector<std::string> listTokenRefs(const std::shared_ptr<Token>& token, const std::string& storeId);
std::vector<std::string> listTokenRefs(const std::shared_ptr<Token>& token, const std::vector<std::string>& owners);

// Attributes of the private or secret object, for tests that check the protections.
struct TokenKeyAttributes {
  bool found = false;
  CK_OBJECT_CLASS objectClass = 0;
  bool sensitive = false, extractable = true, neverExtractable = false, alwaysSensitive = false;
  bool onToken = false, isPrivate = false;
  // CKA_UNWRAP, and CKA_WRAP (a secret key's only): a stored key never wraps or unwraps.
  bool unwrap = true, wrap = true;
  Bytes id;
  std::string label;
  // Asking for the secret value (CKA_VALUE, or CKA_PRIVATE_EXPONENT for RSA) was refused, and how.
  bool valueRefused = false;
  std::string valueRv;
  bool hasPublicObject = false;
};
TokenKeyAttributes readTokenKeyAttributes(const std::shared_ptr<Token>& token, const std::string& tokenRef);

Bytes tokenRandom(const std::shared_ptr<Token>& token, std::size_t n);

class TokenKeySource final : public KeySource {
 public:
  TokenKeySource(std::shared_ptr<Token> token, KeyIdentity id, std::string tokenRef, Bytes publicKey,
                 std::vector<std::string> owners = {});
  const std::string& cacheKey() const override { return cacheKey_; }
  std::shared_ptr<const Key> load() const override;
  bool onToken() const override { return true; }

 private:
  std::shared_ptr<Token> token_;
  KeyIdentity id_;
  std::string tokenRef_;
  Bytes publicKey_;
  std::vector<std::string> owners_;
  std::string cacheKey_;
};

}  // namespace ekms::pkcs11
