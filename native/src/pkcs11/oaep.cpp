// RSA_padding_check_PKCS1_OAEP_mgf1 is deprecated in OpenSSL 3 (as are all RSA_* functions) but
// is the one constant-time OAEP decoder OpenSSL exposes without holding the private key, which
// here stays on the token. It is still present in OpenSSL 3.5.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/rsa.h>

#include "internal.hpp"

namespace ekms::pkcs11 {

SecretBytes oaepDecode(ByteView em, std::size_t k, const EVP_MD* md) {
  SecretBytes out(k);
  const int n = static_cast<int>(k);
  int len = RSA_padding_check_PKCS1_OAEP_mgf1(out.data(), n, em.data, static_cast<int>(em.size), n, nullptr, 0, md, md);
  if (len < 0) {
    clearOpensslErrors();
    throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid");
  }
  out.resize(static_cast<std::size_t>(len));
  return out;
}

}  // namespace ekms::pkcs11
