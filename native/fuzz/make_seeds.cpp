// Writes the seed corpora of the harnesses: well-formed inputs (valid ciphertexts under the
// harnesses' fixed key, wrapped blobs under their fixed root key, PKCS#8 keys of every spec,
// public keys and signatures of every curve, plans over every kind of token key), so that
// mutation starts past the first checks.
// Usage: make_seeds <dir>  → <dir>/<harness>/seed-N
#include <filesystem>
#include <fstream>
#include <string>

#include "common.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/software_key.hpp"
#include "fake_pkcs11.h"
#if __has_include("ekms/import.hpp")
#include "ekms/import.hpp"
#define EKMS_SEEDS_IMPORT 1
#endif
#if __has_include("ekms/root_escrow.hpp")
#include "ekms/root_escrow.hpp"
#define EKMS_SEEDS_ESCROW 1
#endif

namespace {

namespace fs = std::filesystem;

void write(const fs::path& dir, int& n, uint8_t mode, ekms::ByteView body) {
  fs::create_directories(dir);
  std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
  f.put(static_cast<char>(mode));
  f.write(reinterpret_cast<const char*>(body.data), static_cast<std::streamsize>(body.size));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <dir>\n");
    return 2;
  }
  const fs::path out(argv[1]);
  int n = 0;

  // fuzz_ciphertext: valid blobs under the fixed key and context (mode 0), other contexts (1).
  auto aes = ekms::loadSoftwareKey({fuzz::kKeyId, "SYMMETRIC_DEFAULT", fuzz::kMaterialId}, fuzz::fixedBytes(32, 7));
  const auto& sym = ekms::algorithm("SYMMETRIC_DEFAULT");
  for (std::size_t len : {0, 1, 16, 100, 4096}) {
    ekms::Bytes pt(len, 0x41);
    write(out / "ciphertext", n, 0, aes->encrypt(sym, pt, {{"purpose", "fuzz"}, {"tenant", "a"}}));
    write(out / "ciphertext", n, 1, aes->encrypt(sym, pt, {{"k", "v"}}));
    write(out / "ciphertext", n, 2, pt);
  }

  // fuzz_unwrap: blobs of real material for every spec (mode 0 with the spec in the high bits).
  auto root = ekms::RootKey::fromBytes(fuzz::fixedBytes(32, 3));
  for (std::size_t i = 0; i < fuzz::kSpecCount; ++i) {
    const std::string spec = fuzz::kSpecs[i];
    if (spec == "RSA_3072" || spec == "RSA_4096") continue;  // slow to generate, same parser
    ekms::GeneratedKey g = ekms::generateMaterial(spec);
    ekms::KeyIdentity id{fuzz::kKeyId, spec, fuzz::kMaterialId};
    write(out / "unwrap", n, static_cast<uint8_t>(i << 2), root->wrap(id, g.material));
    write(out / "unwrap", n, static_cast<uint8_t>((i << 2) | 2), g.material);
    // fuzz_software_key: the material itself.
    write(out / "software_key", n, static_cast<uint8_t>(i), g.material);
    // fuzz_public_key: peer keys (even modes) of every kind, including wrong ones.
    if (!g.publicKey.empty()) {
      for (uint8_t curve = 0; curve < 4; ++curve) write(out / "public_key", n, static_cast<uint8_t>(curve << 1), g.publicKey);
    }
  }
  ekms::Bytes file{'E', 'K', 'M', 'S', 'R', 'O', 'O', 'T', 1};
  ekms::Bytes rk = fuzz::fixedBytes(32, 3);
  file.insert(file.end(), rk.begin(), rk.end());
  write(out / "unwrap", n, 3, file);

  // fuzz_public_key: signatures (odd modes) of each verify case's shape.
  const char* sigSpecs[] = {"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "RSA_2048"};
  const char* sigAlgs[] = {"ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "ECDSA_SHA_256", "ED25519_SHA_512", "RSASSA_PSS_SHA_256"};
  for (uint8_t i = 0; i < 6; ++i) {
    ekms::GeneratedKey g = ekms::generateMaterial(sigSpecs[i]);
    auto k = ekms::loadSoftwareKey({fuzz::kKeyId, sigSpecs[i], fuzz::kMaterialId}, g.material);
    ekms::Bytes sig = k->sign(ekms::algorithm(sigAlgs[i]), false, std::string("fuzz"));
    write(out / "public_key", n, static_cast<uint8_t>((i << 1) | 1), sig);
  }

  // fuzz_pkcs11_attributes: DER OCTET STRING points, bare points, Ed25519, RSA n/e, r||s.
  const char* ecSpecs[] = {"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"};
  for (uint8_t c = 0; c < 4; ++c) {
    const char* spec = ecSpecs[c];
    ekms::Bytes spki = ekms::generateMaterial(spec).publicKey;
    // The point is the BIT STRING's content at the end of the SPKI: 0x04 || X || Y.
    const std::size_t field = c == 1 ? 48 : c == 2 ? 66 : 32;
    ekms::Bytes point(spki.end() - static_cast<long>(1 + 2 * field), spki.end());
    write(out / "pkcs11_attributes", n, static_cast<uint8_t>(c << 3), point);
    ekms::Bytes der{0x04};
    if (point.size() > 127) der.push_back(0x81);
    der.push_back(static_cast<uint8_t>(point.size()));
    der.insert(der.end(), point.begin(), point.end());
    write(out / "pkcs11_attributes", n, static_cast<uint8_t>(c << 3), der);
    write(out / "pkcs11_attributes", n, 3, ekms::Bytes(2 * field, 0x33));
  }
  ekms::Bytes ed = ekms::generateMaterial("ECC_NIST_EDWARDS25519").publicKey;
  write(out / "pkcs11_attributes", n, 1, ekms::Bytes(ed.end() - 32, ed.end()));
  ekms::Bytes rsa{3, 0x01, 0x00, 0x01};
  ekms::Bytes modulus(256, 0xc5);
  rsa.insert(rsa.end(), modulus.begin(), modulus.end());
  write(out / "pkcs11_attributes", n, 2, rsa);
  write(out / "pkcs11_attributes", n, 4, ekms::Bytes(256, 0));
  // fuzz_token: plans over each kind of key (strict and lax), with a script of zeros: the fake
  // then answers as a well-behaved token would, so mutation starts from every step working, and
  // has room to change the answers of the first few hundred calls (libFuzzer's length limit
  // starts at the longest seed's).
  auto plan = [](std::initializer_list<int> steps) {
    ekms::Bytes b;
    for (int s : steps) b.push_back(static_cast<uint8_t>(s));
    b.resize(b.size() + 256, 0);
    return b;
  };
  auto use = [](int p) { return OP_USE | p << 4; };
  for (int m = 0; m < 2; ++m) {
    const auto mode = static_cast<uint8_t>(m);
    for (int k = 0; k < 16; ++k) {
      write(out / "token", n, mode, plan({OP_GENERATE | k << 4, use(0), use(1), use(3), use(4), use(5), use(6), use(7)}));
      write(out / "token", n, mode, plan({OP_LOAD_FROM_TOKEN | k << 4, use(8), use(2), use(12), use(13), OP_ATTRIBUTES, OP_DESTROY, OP_LIST}));
    }
    for (int a = 0; a < 4; ++a)
      for (int k : {0, 2, 5, 11}) {
        write(out / "token", n, static_cast<uint8_t>(m | 2),
              plan({OP_WRAPPING_KEY | a << 4, OP_UNWRAP | k << 4, OP_COMMIT, OP_RANDOM | 7 << 4, OP_RECONNECT, OP_LOAD_WITH_DER | k << 4, use(0), use(4)}));
      }
  }
#ifdef EKMS_SEEDS_IMPORT
  // fuzz_import: a valid token, OAEP-sized blobs, RFC 5649 blobs, key material of every spec.
  {
    ekms::ImportParameters params{fuzz::kKeyId, std::string(64, 'a'), "RSA_2048", "RSAES_OAEP_SHA_256", 4102444800000};
    ekms::WrappingKey wk = ekms::generateWrappingKey(*root, params);
    write(out / "import", n, 0, wk.importToken);
    for (uint8_t alg = 0; alg < 4; ++alg) {
      ekms::Bytes blob(alg < 2 ? 256 : 256 + 40, 0x42);
      write(out / "import", n, static_cast<uint8_t>(1 | (alg << 2)), blob);
    }
    for (uint8_t k = 0; k < 3; ++k) {
      ekms::Bytes kek = fuzz::fixedBytes(std::size_t{16} + 8 * k, 9);
      write(out / "import", n, static_cast<uint8_t>(2 | (k << 2)), ekms::aesKeyWrapPad(kek, fuzz::fixedBytes(32, 1)));
      write(out / "import", n, static_cast<uint8_t>(2 | (k << 2)), ekms::aesKeyWrapPad(kek, fuzz::fixedBytes(5, 1)));
    }
    for (std::size_t i = 0; i < fuzz::kSpecCount; ++i) {
      const std::string spec = fuzz::kSpecs[i];
      if (spec == "RSA_3072" || spec == "RSA_4096") continue;
      write(out / "import", n, static_cast<uint8_t>(3 | (i << 2)), ekms::generateMaterial(spec).material);
    }
  }
#endif
#ifdef EKMS_SEEDS_ESCROW
  {
    ekms::EscrowCost cheap;
    cheap.logN = ekms::kMinEscrowLogN;
    std::string passphrase = "correct horse battery staple";
    ekms::Bytes file = ekms::sealEscrow(fuzz::fixedBytes(32, 3), passphrase, cheap);
    fs::create_directories(out / "escrow");
    std::ofstream f(out / "escrow" / "seed-escrow", std::ios::binary);
    f.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
#endif
  std::printf("%d seeds in %s\n", n, out.c_str());
  return 0;
}
