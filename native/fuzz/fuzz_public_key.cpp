// Caller-supplied public keys and signatures: DeriveSharedSecret's peer key (DER
// SubjectPublicKeyInfo of any algorithm, any curve, any point) and Verify's signature (DER
// ECDSA, RSA, Ed25519) against fixed keys of every asymmetric spec.
//
// Input: mode byte, then the DER public key (mode even) or the signature (mode odd).
#include <cstdint>
#include <map>

#include "common.hpp"
#include "ekms/key.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/software_key.hpp"

namespace {

const ekms::Key& keyOf(const std::string& spec) {
  static std::map<std::string, std::shared_ptr<const ekms::Key>> keys;
  auto it = keys.find(spec);
  if (it == keys.end()) {
    ekms::GeneratedKey g = ekms::generateMaterial(spec);
    it = keys.emplace(spec, ekms::loadSoftwareKey({fuzz::kKeyId, spec, fuzz::kMaterialId}, g.material)).first;
  }
  return *it->second;
}

const char* const kEcSpecs[] = {"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"};

struct VerifyCase {
  const char* spec;
  const char* alg;
  bool digest;
};
const VerifyCase kVerify[] = {
    {"ECC_NIST_P256", "ECDSA_SHA_256", false},      {"ECC_NIST_P384", "ECDSA_SHA_384", true},
    {"ECC_NIST_P521", "ECDSA_SHA_512", false},      {"ECC_SECG_P256K1", "ECDSA_SHA_256", true},
    {"ECC_NIST_EDWARDS25519", "ED25519_SHA_512", false}, {"RSA_2048", "RSASSA_PSS_SHA_256", false},
    {"RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", true}, {"RSA_2048", "RSASSA_PSS_SHA_512", true},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ekms::ByteView rest(data + 1, size - 1);
  if (mode % 2 == 0) {
    const ekms::Key& key = keyOf(kEcSpecs[(mode >> 1) % 4]);
    ekms::SecretBytes secret;
    if (fuzz::tolerate([&] { secret = key.deriveSharedSecret(rest); })) FUZZ_CHECK(!secret.empty());
  } else {
    const VerifyCase& c = kVerify[(mode >> 1) % (sizeof kVerify / sizeof kVerify[0])];
    const ekms::AlgorithmInfo& alg = ekms::algorithm(c.alg);
    const ekms::Bytes message = c.digest ? ekms::Bytes(alg.digestLen, 0x5a) : ekms::Bytes{'f', 'u', 'z', 'z'};
    // A random signature verifying would be a forgery: only InvalidSignature may come out.
    bool ok = fuzz::tolerate([&] { keyOf(c.spec).verify(alg, c.digest, message, rest); });
    FUZZ_CHECK(!ok);
  }
  return 0;
}
