// ECDSA public-key recovery (native/include/ekms/pkcs11/ec_recover.hpp) on every curve a KMS EC
// key may use: keys and signatures made by OpenSSL, the recovered point compared with the key's
// own; signatures of two different keys, equal digests and malformed signatures refused.
#include <cstring>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include "check.hpp"
#include "ekms/ossl.hpp"
#include "ekms/pkcs11/ec_recover.hpp"

using namespace ekms;

namespace {

struct Curve {
  const char* name;
  int nid;
  std::size_t bytes;  // of the order
};
const Curve kCurves[] = {
    {"P-256", NID_X9_62_prime256v1, 32},
    {"P-384", NID_secp384r1, 48},
    {"P-521", NID_secp521r1, 66},
    {"secp256k1", NID_secp256k1, 32},
};

Pkey keygen(const Curve& c) {
  Pkey k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", c.name));
  return k;
}

Bytes pointOf(EVP_PKEY* k) {
  std::size_t len = 0;
  EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &len);
  Bytes out(len);
  EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(), &len);
  return out;
}

// A raw r || s signature over `digest` (as CKM_ECDSA returns it).
Bytes signRaw(EVP_PKEY* k, const Curve& c, ByteView digest) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr));
  std::size_t len = 0;
  EVP_PKEY_sign_init(ctx.get());
  EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data, digest.size);
  Bytes der(len);
  EVP_PKEY_sign(ctx.get(), der.data(), &len, digest.data, digest.size);
  const uint8_t* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  Bytes raw(2 * c.bytes);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), static_cast<int>(c.bytes));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + c.bytes, static_cast<int>(c.bytes));
  ECDSA_SIG_free(sig);
  return raw;
}

Bytes randomDigest(std::size_t n) {
  Bytes d(n);
  RAND_bytes(d.data(), static_cast<int>(n));
  return d;
}

}  // namespace

TEST(recovers_the_signing_key_on_every_curve) {
  for (const Curve& c : kCurves) {
    for (int round = 0; round < 8; ++round) {
      Pkey k = keygen(c);
      CHECK(k != nullptr);
      // 32-byte digests (what the token import signs) and, for the larger curves, full-size and
      // longer-than-the-order ones (the leftmost bits are used).
      for (std::size_t dlen : {std::size_t{32}, c.bytes, std::size_t{64}}) {
        Bytes d1 = randomDigest(dlen), d2 = randomDigest(dlen);
        Bytes s1 = signRaw(k.get(), c, d1), s2 = signRaw(k.get(), c, d2);
        Bytes q = pkcs11::recoverEcdsaPublicPoint(c.nid, d1, s1, d2, s2);
        if (q != pointOf(k.get())) {
          std::fprintf(stderr, "  curve %s, digest of %zu bytes: wrong point\n", c.name, dlen);
          CHECK(false);
        }
      }
    }
  }
}

TEST(refuses_signatures_of_two_keys_equal_digests_and_malformed_ones) {
  const Curve& c = kCurves[0];
  Pkey a = keygen(c), b = keygen(c);
  Bytes d1 = randomDigest(32), d2 = randomDigest(32);
  Bytes sa = signRaw(a.get(), c, d1), sb = signRaw(b.get(), c, d2);
  CHECK_THROWS_CODE(pkcs11::recoverEcdsaPublicPoint(c.nid, d1, sa, d2, sb), ErrorCode::InvalidInput);
  Bytes sa2 = signRaw(a.get(), c, d1);
  CHECK_THROWS_CODE(pkcs11::recoverEcdsaPublicPoint(c.nid, d1, sa, d1, sa2), ErrorCode::InvalidInput);
  Bytes zero(64, 0);
  CHECK_THROWS_CODE(pkcs11::recoverEcdsaPublicPoint(c.nid, d1, zero, d2, signRaw(a.get(), c, d2)), ErrorCode::InvalidInput);
  Bytes shortSig(sa.begin(), sa.end() - 1);
  CHECK_THROWS_CODE(pkcs11::recoverEcdsaPublicPoint(c.nid, d1, shortSig, d2, signRaw(a.get(), c, d2)), ErrorCode::InvalidInput);
  // A tampered signature gives other candidates, which the genuine second one does not share.
  Bytes tampered = sa;
  tampered[40] ^= 1;
  CHECK_THROWS_CODE(pkcs11::recoverEcdsaPublicPoint(c.nid, d1, tampered, d2, signRaw(a.get(), c, d2)), ErrorCode::InvalidInput);
}

TEST_MAIN
