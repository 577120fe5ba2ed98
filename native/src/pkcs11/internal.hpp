// Pieces shared by the token key sources (not part of the core's interface).
#pragma once

#include <list>
#include <memory>
#include <string>
#include <vector>

#include "ekms/pkcs11/token_key.hpp"
#include "public_key.hpp"

namespace ekms::pkcs11 {

// What a key of a KMS key usage may do, as the CKA_SIGN / CKA_ENCRYPT / ... flags of its objects.
// Generated and imported token keys must agree on it: the same usage gets the same flags.
struct Usage {
  bool encrypt = false, sign = false, derive = false;
};
// Throws InvalidInput for a usage KMS does not have.
Usage usageOf(const std::string& usage);

// Builds an attribute template whose values live as long as the builder.
class AttributeTemplate {
 public:
  // Movable (returned by value: the vector's buffer and the list's nodes move along), not
  // copyable: a copy's attributes would point into the original's values.
  AttributeTemplate() = default;
  AttributeTemplate(AttributeTemplate&&) = default;
  AttributeTemplate& operator=(AttributeTemplate&&) = default;
  AttributeTemplate(const AttributeTemplate&) = delete;
  AttributeTemplate& operator=(const AttributeTemplate&) = delete;
  AttributeTemplate& flag(CK_ATTRIBUTE_TYPE type, bool value) { return add(type, value ? &yes_ : &no_, sizeof(CK_BBOOL)); }
  AttributeTemplate& ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
    values_.emplace_back(reinterpret_cast<const uint8_t*>(&value), reinterpret_cast<const uint8_t*>(&value) + sizeof value);
    return add(type, values_.back().data(), sizeof value);
  }
  AttributeTemplate& bytes(CK_ATTRIBUTE_TYPE type, ByteView value) {
    values_.push_back(toBytes(value));
    return add(type, values_.back().data(), value.size);
  }
  // An attribute whose value is a template itself (CKA_UNWRAP_TEMPLATE): `inner` must stay alive
  // and unchanged while this one is used.
  AttributeTemplate& nested(CK_ATTRIBUTE_TYPE type, AttributeTemplate& inner) {
    return add(type, inner.data(), inner.size() * sizeof(CK_ATTRIBUTE));
  }
  CK_ATTRIBUTE* data() { return attrs_.data(); }
  CK_ULONG size() const { return static_cast<CK_ULONG>(attrs_.size()); }

 private:
  AttributeTemplate& add(CK_ATTRIBUTE_TYPE type, void* value, std::size_t len) {
    attrs_.push_back({type, value, static_cast<CK_ULONG>(len)});
    return *this;
  }
  // Static, so that a template returned by value (moved) still points at live flags: as members
  // they moved with nothing pointing at them. Tokens only read template values.
  static inline CK_BBOOL yes_ = CK_TRUE, no_ = CK_FALSE;
  std::vector<CK_ATTRIBUTE> attrs_;
  std::list<Bytes> values_;  // a list: growing it never moves the bytes attrs_ points to
};

// The capability flags of a stored key's objects, from its family and KMS usage. A secret key gets
// every one set, the ones it needs true and the rest false, so that nothing is left to the token's
// defaults (SoftHSM2 gives a new AES key CKA_WRAP, CKA_UNWRAP and CKA_VERIFY; wrapping and
// decryption with one key is the classic way to take extractable keys out of a token). A key
// pair's objects get only the attributes their key type has (keygen.cpp says why).
void secretKeyCapabilities(AttributeTemplate& t, KeyFamily family);
void privateKeyCapabilities(AttributeTemplate& t, KeyFamily family, const Usage& u);
void publicKeyCapabilities(AttributeTemplate& t, KeyFamily family, const Usage& u);

// The objects among `found` whose CKA_LABEL names one of `owners` as the store that made them
// (labelNamesOneOf). `byId` (one attribute, the CKA_ID they were found by) tells an object
// destroyed meanwhile, which is left out, from a passing failure to read its label, which is
// read again; a lost session throws.
std::vector<CK_OBJECT_HANDLE> madeByOneOf(Session& s, std::vector<CK_OBJECT_HANDLE> found, CK_ATTRIBUTE* byId,
                                          const std::vector<std::string>& owners);

// publicKey is null for symmetric keys. Of several objects with the tokenRef's CKA_ID (a store and
// a copy restored from its backup may each have one), the key uses one that a store in `owners`
// made, if there is one.
std::shared_ptr<const Key> makeTokenKey(std::shared_ptr<Token> token, const KeyIdentity& id, const std::string& tokenRef,
                                        Pkey publicKey, std::vector<std::string> owners = {});

// EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of the result of a raw RSA decryption with a k-byte
// modulus (em may be shorter when a token dropped leading zeros), in constant time, with MGF1
// over the same hash and an empty label. Every failure is the same
// InvalidCiphertext, so callers learn nothing about where the padding broke.
SecretBytes oaepDecode(ByteView em, std::size_t k, const EVP_MD* md);

// Destroys a session object when it goes out of scope (derived secrets, failed generations).
// If the token does not destroy it, the session is marked failed: it is closed instead of going
// back to the pool, and its session objects go with it.
class ObjectGuard {
 public:
  ObjectGuard(Session& s, CK_OBJECT_HANDLE h) : s_(s), h_(h) {}
  ~ObjectGuard() {
    if (h_ != CK_INVALID_HANDLE && s_.fn()->C_DestroyObject(s_.handle(), h_) != CKR_OK) s_.fail();
  }
  void release() { h_ = CK_INVALID_HANDLE; }
  ObjectGuard(const ObjectGuard&) = delete;
  ObjectGuard& operator=(const ObjectGuard&) = delete;

 private:
  Session& s_;
  CK_OBJECT_HANDLE h_;
};

}  // namespace ekms::pkcs11
