// Pieces shared by the token key sources (not part of the core's interface).
#pragma once

#include <memory>

#include "ekms/pkcs11/token_key.hpp"
#include "public_key.hpp"

namespace ekms::pkcs11 {

// publicKey is null for symmetric keys.
std::shared_ptr<const Key> makeTokenKey(std::shared_ptr<Token> token, const KeyIdentity& id, const std::string& tokenRef,
                                        Pkey publicKey);

// EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of the result of a raw RSA decryption with a k-byte
// modulus (em may be shorter when a token dropped leading zeros), in constant time, with MGF1
// over the same hash and an empty label. Every failure is the same
// InvalidCiphertext, so callers learn nothing about where the padding broke.
SecretBytes oaepDecode(ByteView em, std::size_t k, const EVP_MD* md);

// Destroys a session object when it goes out of scope (derived secrets, failed generations).
class ObjectGuard {
 public:
  ObjectGuard(Session& s, CK_OBJECT_HANDLE h) : s_(s), h_(h) {}
  ~ObjectGuard() {
    if (h_ != CK_INVALID_HANDLE) s_.fn()->C_DestroyObject(s_.handle(), h_);
  }
  void release() { h_ = CK_INVALID_HANDLE; }
  ObjectGuard(const ObjectGuard&) = delete;
  ObjectGuard& operator=(const ObjectGuard&) = delete;

 private:
  Session& s_;
  CK_OBJECT_HANDLE h_;
};

}  // namespace ekms::pkcs11
