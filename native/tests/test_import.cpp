// Importing key material without Node: AES Key Wrap with Padding against RFC 5649's vectors,
// import tokens (round trip, tampering, another key, another root key), unwrapping material
// wrapped with OpenSSL's OAEP (directly and as RSA-AES key wrap), the key-spec checks, and the
// derivation of material ids.
#include <cstring>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "check.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/import.hpp"
#include "ekms/ossl.hpp"
#include "ekms/software_key.hpp"

using namespace ekms;

namespace {

const std::string kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const std::string kWrappingId = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

Bytes hex(const std::string& s) {
  Bytes out;
  fromHex(s, out);
  return out;
}

std::shared_ptr<const RootKey> rootOf(uint8_t fill) {
  Bytes key(32, fill);
  return RootKey::fromBytes(key);
}

ImportParameters params(const std::string& algorithm, const std::string& spec = "RSA_2048") {
  ImportParameters p;
  p.keyId = kKeyId;
  p.wrappingKeyId = kWrappingId;
  p.wrappingKeySpec = spec;
  p.algorithm = algorithm;
  p.validToMs = 1'900'000'000'000;
  return p;
}

// RSA-OAEP encryption with OpenSSL, as a caller outside would do it.
Bytes oaepEncrypt(ByteView spki, const char* digest, ByteView plaintext) {
  const uint8_t* p = spki.data;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size));
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pub, nullptr);
  EVP_PKEY_encrypt_init(ctx);
  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
  EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_get_digestbyname(digest));
  EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_get_digestbyname(digest));
  std::size_t len = 0;
  EVP_PKEY_encrypt(ctx, nullptr, &len, plaintext.data, plaintext.size);
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx, out.data(), &len, plaintext.data, plaintext.size) != 1) out.clear();
  else out.resize(len);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pub);
  return out;
}

Bytes rsaAesWrap(ByteView spki, const char* digest, ByteView material) {
  Bytes aes(32, 0x5a);
  Bytes out = oaepEncrypt(spki, digest, aes);
  Bytes wrapped = aesKeyWrapPad(aes, material);
  out.insert(out.end(), wrapped.begin(), wrapped.end());
  return out;
}

}  // namespace

TEST(aes_key_wrap_pad_matches_rfc5649) {
  const Bytes kek = hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
  CHECK(aesKeyWrapPad(kek, hex("c37b7e6492584340bed12207808941155068f738")) ==
        hex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"));
  CHECK(aesKeyWrapPad(kek, hex("466f7250617369")) == hex("afbeb0f07dfbf5419200f2ccb50bb24f"));
  SecretBytes back = aesKeyUnwrapPad(kek, hex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"));
  CHECK(Bytes(back.begin(), back.end()) == hex("c37b7e6492584340bed12207808941155068f738"));
  Bytes bad = hex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6b");
  CHECK_THROWS_CODE(aesKeyUnwrapPad(kek, bad), ErrorCode::InvalidCiphertext);
  CHECK_THROWS_CODE(aesKeyUnwrapPad(kek, hex("0011")), ErrorCode::InvalidCiphertext);
}

TEST(import_tokens_open_only_for_their_key_and_root_key) {
  auto root = rootOf(1);
  Bytes token = sealImportToken(*root, params("RSAES_OAEP_SHA_256", "RSA_3072"));
  ImportParameters got;
  CHECK(openImportToken(*root, kKeyId, token, got));
  CHECK(got.wrappingKeyId == kWrappingId);
  CHECK(got.wrappingKeySpec == "RSA_3072");
  CHECK(got.algorithm == "RSAES_OAEP_SHA_256");
  CHECK(got.validToMs == 1'900'000'000'000);
  CHECK(got.keyId == kKeyId);

  ImportParameters untouched;
  CHECK(!openImportToken(*root, "another-key", token, untouched));
  CHECK(!openImportToken(*rootOf(2), kKeyId, token, untouched));
  for (std::size_t i = 0; i < token.size(); ++i) {
    Bytes t = token;
    t[i] ^= 0x01;
    if (openImportToken(*root, kKeyId, t, untouched)) {
      check::fail(__FILE__, __LINE__, "a token with byte " + std::to_string(i) + " flipped opened");
      break;
    }
  }
  CHECK(!openImportToken(*root, kKeyId, Bytes(token.begin(), token.end() - 1), untouched));
  CHECK(!openImportToken(*root, kKeyId, Bytes(), untouched));
  CHECK(untouched.wrappingKeyId.empty());
}

TEST(oaep_and_rsa_aes_key_wrap_unwrap_with_the_wrapping_key_only) {
  auto root = rootOf(3);
  const Bytes aes(32, 0x42);
  for (const char* alg : {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}) {
    ImportParameters p = params(alg);
    WrappingKey wk = generateWrappingKey(*root, p);
    const char* digest = std::strcmp(alg, "RSAES_OAEP_SHA_1") == 0 ? "SHA1" : "SHA256";
    SecretBytes got = unwrapKeyMaterial(*root, p, wk.wrappedPrivateKey, oaepEncrypt(wk.publicKey, digest, aes));
    CHECK(Bytes(got.begin(), got.end()) == aes);
    // The other OAEP hash does not decrypt.
    const char* other = std::strcmp(digest, "SHA1") == 0 ? "SHA256" : "SHA1";
    CHECK_THROWS_CODE(unwrapKeyMaterial(*root, p, wk.wrappedPrivateKey, oaepEncrypt(wk.publicKey, other, aes)),
                      ErrorCode::InvalidCiphertext);
    // Another wrapping key's public key does not either.
    WrappingKey another = generateWrappingKey(*root, p);
    CHECK_THROWS_CODE(unwrapKeyMaterial(*root, p, wk.wrappedPrivateKey, oaepEncrypt(another.publicKey, digest, aes)),
                      ErrorCode::InvalidCiphertext);
    // The wrapped private key is bound to the key it was made for.
    ImportParameters moved = p;
    moved.keyId = "another-key";
    CHECK_THROWS_CODE(unwrapKeyMaterial(*root, moved, wk.wrappedPrivateKey, oaepEncrypt(wk.publicKey, digest, aes)),
                      ErrorCode::InvalidKeyBlob);
  }
  GeneratedKey rsa = generateMaterial("RSA_2048");
  for (const char* alg : {"RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"}) {
    ImportParameters p = params(alg, "RSA_2048");
    WrappingKey wk = generateWrappingKey(*root, p);
    const char* digest = std::strcmp(alg, "RSA_AES_KEY_WRAP_SHA_1") == 0 ? "SHA1" : "SHA256";
    Bytes encrypted = rsaAesWrap(wk.publicKey, digest, rsa.material);
    SecretBytes got = unwrapKeyMaterial(*root, p, wk.wrappedPrivateKey, encrypted);
    CHECK(got == rsa.material);
    encrypted.back() ^= 1;
    CHECK_THROWS_CODE(unwrapKeyMaterial(*root, p, wk.wrappedPrivateKey, encrypted), ErrorCode::InvalidCiphertext);
    CHECK_THROWS_CODE(unwrapKeyMaterial(*root, p, wk.wrappedPrivateKey, Bytes(100, 1)), ErrorCode::InvalidCiphertext);
  }
  CHECK_THROWS_CODE(wrappingAlgorithm("RSAES_PKCS1_V1_5"), ErrorCode::Unsupported);
  CHECK_THROWS_CODE(wrappingKeyBits("SM2"), ErrorCode::Unsupported);
}

TEST(material_must_fit_the_key_spec) {
  CHECK(checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, Bytes(32, 7)).material.size() == 32);
  CHECK_THROWS_CODE(checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, Bytes(16, 7)), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, Bytes(33, 7)), ErrorCode::InvalidInput);
  struct Range {
    const char* spec;
    std::size_t min, max;
  };
  for (const Range& r : {Range{"HMAC_224", 28, 64}, Range{"HMAC_256", 32, 64}, Range{"HMAC_384", 48, 128}, Range{"HMAC_512", 64, 128}}) {
    CHECK(checkImportedMaterial(r.spec, kKeyId, Bytes(r.min, 1)).material.size() == r.min);
    CHECK(checkImportedMaterial(r.spec, kKeyId, Bytes(r.max, 1)).material.size() == r.max);
    CHECK_THROWS_CODE(checkImportedMaterial(r.spec, kKeyId, Bytes(r.min - 1, 1)), ErrorCode::InvalidInput);
    CHECK_THROWS_CODE(checkImportedMaterial(r.spec, kKeyId, Bytes(r.max + 1, 1)), ErrorCode::InvalidInput);
  }
  GeneratedKey p256 = generateMaterial("ECC_NIST_P256");
  CheckedMaterial ok = checkImportedMaterial("ECC_NIST_P256", kKeyId, p256.material);
  CHECK(ok.publicKey == p256.publicKey);
  CHECK_THROWS_CODE(checkImportedMaterial("ECC_NIST_P384", kKeyId, p256.material), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(checkImportedMaterial("ECC_SECG_P256K1", kKeyId, p256.material), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(checkImportedMaterial("RSA_2048", kKeyId, p256.material), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(checkImportedMaterial("ECC_NIST_EDWARDS25519", kKeyId, p256.material), ErrorCode::InvalidInput);
  {
    // The same P-256 key spelled with explicit curve parameters, which OpenSSL still names P-256.
    Pkey explicitKey = parsePkcs8(p256.material);
    char encoding[] = "explicit";
    CHECK(EVP_PKEY_set_utf8_string_param(explicitKey.get(), OSSL_PKEY_PARAM_EC_ENCODING, encoding) == 1);
    SecretBytes explicitDer = pkcs8Of(explicitKey.get());
    CHECK(explicitDer.size() > p256.material.size());
    CHECK_THROWS_CODE(checkImportedMaterial("ECC_NIST_P256", kKeyId, explicitDer), ErrorCode::InvalidInput);
  }
  GeneratedKey rsa = generateMaterial("RSA_2048");
  CHECK(checkImportedMaterial("RSA_2048", kKeyId, rsa.material).publicKey == rsa.publicKey);
  CHECK_THROWS_CODE(checkImportedMaterial("RSA_3072", kKeyId, rsa.material), ErrorCode::InvalidInput);
  GeneratedKey k1 = generateMaterial("ECC_SECG_P256K1");
  CHECK(checkImportedMaterial("ECC_SECG_P256K1", kKeyId, k1.material).publicKey == k1.publicKey);
  GeneratedKey ed = generateMaterial("ECC_NIST_EDWARDS25519");
  CHECK(checkImportedMaterial("ECC_NIST_EDWARDS25519", kKeyId, ed.material).publicKey == ed.publicKey);
  // Not DER, trailing bytes, raw bytes for an asymmetric spec.
  Bytes trailing(p256.material.begin(), p256.material.end());
  trailing.push_back(0);
  CHECK_THROWS_CODE(checkImportedMaterial("ECC_NIST_P256", kKeyId, trailing), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(checkImportedMaterial("ECC_NIST_P256", kKeyId, Bytes(32, 7)), ErrorCode::InvalidInput);
  // The checked material is usable as a software key.
  auto key = loadSoftwareKey({kKeyId, "ECC_NIST_P256", ok.materialId}, ok.material);
  Bytes sig = key->sign(algorithm("ECDSA_SHA_256"), false, std::string("m"));
  key->verify(algorithm("ECDSA_SHA_256"), false, std::string("m"), sig);
}

TEST(material_ids_depend_on_the_key_id_and_the_material_only) {
  const Bytes a(32, 1), b(32, 2);
  const std::string idA = checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, a).materialId;
  CHECK(idA.size() == 64);
  CHECK(idA == checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, a).materialId);
  CHECK(idA != checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, b).materialId);
  CHECK(idA != checkImportedMaterial("SYMMETRIC_DEFAULT", "another-key", a).materialId);
  // AES: SHA-256 over the key check value AES_K(0^128), computed here independently.
  {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr, a.data(), nullptr);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    uint8_t zero[16] = {0}, kcv[16];
    int len = 0;
    EVP_EncryptUpdate(ctx, kcv, &len, zero, 16);
    EVP_CIPHER_CTX_free(ctx);
    std::string label = "ekms imported key material v1";
    Bytes message(label.begin(), label.end());
    message.push_back(0);
    message.insert(message.end(), kKeyId.begin(), kKeyId.end());
    message.push_back(0);
    message.insert(message.end(), kcv, kcv + 16);
    uint8_t digest[32];
    unsigned int dlen = 0;
    EVP_Digest(message.data(), message.size(), digest, &dlen, EVP_sha256(), nullptr);
    CHECK(idA == toHex(ByteView(digest, 32)));
  }
  // HMAC: SHA-256 over M, HMAC-SHA-256 under the material, computed here independently. M itself
  // (the id before) is a MAC the key makes, so it is only the legacy id, for reimports.
  {
    std::string label = "ekms imported key material v1";
    Bytes message(label.begin(), label.end());
    message.push_back(0);
    message.insert(message.end(), kKeyId.begin(), kKeyId.end());
    uint8_t mac[32];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), a.data(), 32, message.data(), message.size(), mac, &mlen);
    message.push_back(0);
    message.insert(message.end(), mac, mac + 32);
    uint8_t digest[32];
    unsigned int dlen = 0;
    EVP_Digest(message.data(), message.size(), digest, &dlen, EVP_sha256(), nullptr);
    const CheckedMaterial hmac = checkImportedMaterial("HMAC_256", kKeyId, a);
    CHECK(hmac.materialId == toHex(ByteView(digest, 32)));
    CHECK(hmac.legacyMaterialId == toHex(ByteView(mac, 32)));
    CHECK(checkImportedMaterial("SYMMETRIC_DEFAULT", kKeyId, a).legacyMaterialId.empty());
  }
  GeneratedKey ec = generateMaterial("ECC_NIST_P256");
  const std::string idEc = checkImportedMaterial("ECC_NIST_P256", kKeyId, ec.material).materialId;
  CHECK(idEc == checkImportedMaterial("ECC_NIST_P256", kKeyId, ec.material).materialId);
  CHECK(idEc != checkImportedMaterial("ECC_NIST_P256", "another-key", ec.material).materialId);
}

TEST_MAIN
