// loadSoftwareKey with arbitrary material: PKCS#8 DER parsing for the asymmetric specs (and raw
// AES/HMAC material), then every operation the loaded key offers, so a key OpenSSL accepted
// but whose parts are inconsistent (a PKCS#8 RSA key with p*q != n, an EC scalar out of range)
// can only fail with an ekms::Error.
//
// Input: spec byte, then the material.
#include <cstdint>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common.hpp"
#include "ekms/key.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/software_key.hpp"

namespace {

// Peer public keys for DeriveSharedSecret, one per curve.
const ekms::Bytes& peerFor(const std::string& spec) {
  static const ekms::Bytes p256 = ekms::generateMaterial("ECC_NIST_P256").publicKey;
  static const ekms::Bytes p384 = ekms::generateMaterial("ECC_NIST_P384").publicKey;
  static const ekms::Bytes p521 = ekms::generateMaterial("ECC_NIST_P521").publicKey;
  static const ekms::Bytes k256 = ekms::generateMaterial("ECC_SECG_P256K1").publicKey;
  if (spec == "ECC_NIST_P384") return p384;
  if (spec == "ECC_NIST_P521") return p521;
  if (spec == "ECC_SECG_P256K1") return k256;
  return p256;
}

// RSA private operations cost the cube of the modulus size: skip what a 4096-byte input could
// make huge, so every input runs in milliseconds.
bool smallEnough(ekms::ByteView spki) {
  const uint8_t* p = spki.data;
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size));
  if (pkey == nullptr) return false;
  const int bits = EVP_PKEY_get_bits(pkey);
  EVP_PKEY_free(pkey);
  return bits > 0 && bits <= 4096;
}

const char* const kSigning[] = {"ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "RSASSA_PSS_SHA_256",
                                "RSASSA_PKCS1_V1_5_SHA_256", "ED25519_SHA_512"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string spec = fuzz::kSpecs[data[0] % fuzz::kSpecCount];
  ekms::ByteView material(data + 1, size - 1);
  ekms::KeyIdentity id{fuzz::kKeyId, spec, fuzz::kMaterialId};
  std::shared_ptr<const ekms::Key> key;
  if (!fuzz::tolerate([&] { key = ekms::loadSoftwareKey(id, material); })) return 0;
  const ekms::KeySpecInfo& info = ekms::keySpec(spec);
  const std::string message = "fuzz message";

  switch (info.family) {
    case ekms::KeyFamily::Aes: {
      const auto& alg = ekms::algorithm("SYMMETRIC_DEFAULT");
      ekms::Bytes ct = key->encrypt(alg, message, {});
      ekms::SecretBytes pt = key->decrypt(alg, ct, {});
      FUZZ_CHECK(std::string(pt.begin(), pt.end()) == message);
      break;
    }
    case ekms::KeyFamily::Hmac: {
      const auto& alg = ekms::algorithm("HMAC_SHA_256");
      ekms::Bytes mac = key->mac(alg, message);
      ekms::verifyMac(*key, alg, message, mac);
      break;
    }
    default: {
      ekms::Bytes spki;
      if (!fuzz::tolerate([&] { spki = ekms::publicKeyOf(material); })) break;
      if (!smallEnough(spki)) break;
      for (const char* name : kSigning) {
        const auto& alg = ekms::algorithm(name);
        ekms::Bytes sig;
        if (fuzz::tolerate([&] { sig = key->sign(alg, false, message); })) {
          // A signature the key made verifies unless the key is inconsistent; either way only an
          // ekms::Error may come out.
          fuzz::tolerate([&] { key->verify(alg, false, message, sig); });
        }
      }
      if (info.family == ekms::KeyFamily::Rsa) {
        const auto& oaep = ekms::algorithm("RSAES_OAEP_SHA_256");
        ekms::Bytes ct;
        if (fuzz::tolerate([&] { ct = key->encrypt(oaep, message, {}); }))
          fuzz::tolerate([&] { (void)key->decrypt(oaep, ct, {}); });
      }
      if (info.family == ekms::KeyFamily::Ec) fuzz::tolerate([&] { (void)key->deriveSharedSecret(peerFor(spec)); });
      break;
    }
  }
  return 0;
}
