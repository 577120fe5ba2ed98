#include "ekms/key_spec.hpp"

#include <cstring>
#include <string_view>

#include <openssl/err.h>

#include "ekms/error.hpp"

namespace ekms {

namespace {

const KeySpecInfo kSpecs[] = {
    {"RSA_2048", KeyFamily::Rsa, 2048, nullptr},
    {"RSA_3072", KeyFamily::Rsa, 3072, nullptr},
    {"RSA_4096", KeyFamily::Rsa, 4096, nullptr},
    {"ECC_NIST_P256", KeyFamily::Ec, 0, "P-256"},
    {"ECC_NIST_P384", KeyFamily::Ec, 0, "P-384"},
    {"ECC_NIST_P521", KeyFamily::Ec, 0, "P-521"},
    {"ECC_SECG_P256K1", KeyFamily::Ec, 0, "secp256k1"},
    {"ECC_NIST_EDWARDS25519", KeyFamily::Ed25519, 0, nullptr},
    {"ML_DSA_44", KeyFamily::MlDsa, 0, "ML-DSA-44"},
    {"ML_DSA_65", KeyFamily::MlDsa, 0, "ML-DSA-65"},
    {"ML_DSA_87", KeyFamily::MlDsa, 0, "ML-DSA-87"},
    {"SYMMETRIC_DEFAULT", KeyFamily::Aes, 256, nullptr},
    {"HMAC_224", KeyFamily::Hmac, 224, nullptr},
    {"HMAC_256", KeyFamily::Hmac, 256, nullptr},
    {"HMAC_384", KeyFamily::Hmac, 384, nullptr},
    {"HMAC_512", KeyFamily::Hmac, 512, nullptr},
};

const AlgorithmInfo kAlgorithms[] = {
    {"RSASSA_PSS_SHA_256", "SHA256", 32, Padding::Pss, false},
    {"RSASSA_PSS_SHA_384", "SHA384", 48, Padding::Pss, false},
    {"RSASSA_PSS_SHA_512", "SHA512", 64, Padding::Pss, false},
    {"RSASSA_PKCS1_V1_5_SHA_256", "SHA256", 32, Padding::Pkcs1, false},
    {"RSASSA_PKCS1_V1_5_SHA_384", "SHA384", 48, Padding::Pkcs1, false},
    {"RSASSA_PKCS1_V1_5_SHA_512", "SHA512", 64, Padding::Pkcs1, false},
    {"ECDSA_SHA_256", "SHA256", 32, Padding::None, false},
    {"ECDSA_SHA_384", "SHA384", 48, Padding::None, false},
    {"ECDSA_SHA_512", "SHA512", 64, Padding::None, false},
    {"ED25519_SHA_512", nullptr, 0, Padding::None, false},
    {"ED25519_PH_SHA_512", "SHA512", 64, Padding::None, true},
    // Pure ML-DSA (its SHAKE-256 is internal); 64 is the length of an EXTERNAL_MU input, μ.
    {"ML_DSA_SHAKE_256", nullptr, 64, Padding::None, false},
    {"RSAES_OAEP_SHA_1", "SHA1", 20, Padding::Oaep, false},
    {"RSAES_OAEP_SHA_256", "SHA256", 32, Padding::Oaep, false},
    {"SYMMETRIC_DEFAULT", nullptr, 0, Padding::None, false},
    {"HMAC_SHA_224", "SHA224", 28, Padding::None, false},
    {"HMAC_SHA_256", "SHA256", 32, Padding::None, false},
    {"HMAC_SHA_384", "SHA384", 48, Padding::None, false},
    {"HMAC_SHA_512", "SHA512", 64, Padding::None, false},
};

// By string_view: a std::string keeps its length, so a name with a NUL inside matches nothing.
template <typename Entry, std::size_t N>
const Entry& named(const Entry (&table)[N], std::string_view name, const char* what) {
  for (const auto& entry : table)
    if (name == entry.name) return entry;
  throw Error(ErrorCode::InvalidInput, std::string("unknown ") + what + " " + std::string(name));
}

}  // namespace

const KeySpecInfo& keySpec(const char* name) { return named(kSpecs, name, "key spec"); }
const KeySpecInfo& keySpec(const std::string& name) { return named(kSpecs, name, "key spec"); }
const AlgorithmInfo& algorithm(const char* name) { return named(kAlgorithms, name, "algorithm"); }
const AlgorithmInfo& algorithm(const std::string& name) { return named(kAlgorithms, name, "algorithm"); }

const EVP_MD* digestOf(const AlgorithmInfo& alg) {
  if (alg.digest == nullptr) return nullptr;
  // Fetched once per algorithm: EVP_MD_fetch per operation is measurable on the hot path.
  static const EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static const EVP_MD* sha224 = EVP_MD_fetch(nullptr, "SHA224", nullptr);
  static const EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  if (std::strcmp(alg.digest, "SHA1") == 0) return sha1;
  if (std::strcmp(alg.digest, "SHA224") == 0) return sha224;
  if (std::strcmp(alg.digest, "SHA256") == 0) return sha256;
  if (std::strcmp(alg.digest, "SHA384") == 0) return sha384;
  return sha512;
}

bool mlDsaAvailable() {
  // Asked of the library (ours is linked statically, so the build decides), once.
  static const bool available = [] {
    EVP_SIGNATURE* sig = EVP_SIGNATURE_fetch(nullptr, "ML-DSA-65", nullptr);
    EVP_SIGNATURE_free(sig);
    ERR_clear_error();
    return sig != nullptr;
  }();
  return available;
}

}  // namespace ekms
