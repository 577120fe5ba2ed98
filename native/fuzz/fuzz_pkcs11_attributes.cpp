// What a PKCS#11 token hands back is parsed as untrusted input too: a faulty or hostile module
// (or a token shared with other software) can return any bytes for an attribute. This harness
// feeds arbitrary bytes to the attribute decoders of native/src/pkcs11: CKA_EC_POINT (DER or
// bare, per curve), Ed25519 points, CKA_MODULUS / CKA_PUBLIC_EXPONENT, raw ECDSA signatures
// (r || s) and the EME-OAEP decoding of a raw RSA decryption.
//
// Input: mode byte, then the attribute value (for RSA, a length byte splits modulus/exponent).
#include <cstdint>

#include <openssl/evp.h>

#include "common.hpp"
#include "ekms/key_spec.hpp"
#include "internal.hpp"  // native/src/pkcs11: oaepDecode
#include "public_key.hpp"

namespace {

const char* const kEc[] = {"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace ekms::pkcs11;
  using ekms::Pkey;
  using ekms::spkiOf;
  const uint8_t mode = data[0];
  ekms::ByteView rest(data + 1, size - 1);
  switch (mode % 5) {
    case 0:
      fuzz::tolerate([&] {
        Pkey pkey = ecPublicKey(ekms::keySpec(kEc[(mode >> 3) % 4]), rest);
        FUZZ_CHECK(pkey != nullptr);
        (void)spkiOf(pkey.get());
      });
      break;
    case 1:
      fuzz::tolerate([&] {
        Pkey pkey = ed25519PublicKey(rest);
        (void)spkiOf(pkey.get());
      });
      break;
    case 2: {
      if (rest.size < 1) break;
      std::size_t split = rest.data[0];
      ekms::ByteView body(rest.data + 1, rest.size - 1);
      if (split > body.size) split = body.size;
      // Moduli past 4096 bits only cost time; the decoder's checks are the same.
      if (body.size - split > 1024) break;
      fuzz::tolerate([&] {
        Pkey pkey = rsaPublicKey(ekms::ByteView(body.data + split, body.size - split), ekms::ByteView(body.data, split));
        (void)spkiOf(pkey.get());
      });
      break;
    }
    case 3:
      fuzz::tolerate([&] {
        ekms::Bytes der = ecdsaRawToDer(rest);
        FUZZ_CHECK(!der.empty());
      });
      break;
    case 4: {
      static const std::size_t kSizes[] = {256, 384, 512};
      const std::size_t k = kSizes[(mode >> 3) % 3];
      const EVP_MD* md = (mode >> 5) % 2 == 0 ? EVP_sha1() : EVP_sha256();
      fuzz::tolerate([&] {
        ekms::SecretBytes pt = oaepDecode(rest, k, md);
        FUZZ_CHECK(pt.size() <= k);
      });
      break;
    }
  }
  return 0;
}
