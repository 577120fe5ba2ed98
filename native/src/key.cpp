#include "ekms/key.hpp"

#include <openssl/crypto.h>

#include "ekms/error.hpp"

namespace ekms {

void Key::unsupported(const char* operation) const {
  throw Error(ErrorCode::Unsupported, std::string(operation) + " is not supported for key spec " + id_.keySpec);
}

Bytes Key::sign(const AlgorithmInfo&, bool, ByteView) const { unsupported("Sign"); }
void Key::verify(const AlgorithmInfo&, bool, ByteView, ByteView) const { unsupported("Verify"); }
Bytes Key::encrypt(const AlgorithmInfo&, ByteView, const EncryptionContext&) const { unsupported("Encrypt"); }
SecretBytes Key::decrypt(const AlgorithmInfo&, ByteView, const EncryptionContext&) const { unsupported("Decrypt"); }
Bytes Key::mac(const AlgorithmInfo&, ByteView) const { unsupported("GenerateMac"); }
SecretBytes Key::deriveSharedSecret(ByteView) const { unsupported("DeriveSharedSecret"); }

void verifyMac(const Key& key, const AlgorithmInfo& alg, ByteView message, ByteView macValue) {
  Bytes expected = key.mac(alg, message);
  if (expected.size() != macValue.size || CRYPTO_memcmp(expected.data(), macValue.data, expected.size()) != 0)
    throw Error(ErrorCode::InvalidMac, "MAC does not match");
}

}  // namespace ekms
