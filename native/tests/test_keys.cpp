// Every provider operation without Node: sign/verify for each spec and algorithm, RSA-OAEP, ECDH,
// SYMMETRIC_DEFAULT ciphertexts (and their tampering), HMAC and AES-GCM known-answer vectors.
#include <cstring>

#include <openssl/core_names.h>

#include "check.hpp"
#include "ekms/aead.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/data_keys.hpp"
#include "ekms/key_cache.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/ossl.hpp"
#include "ekms/software_key.hpp"

using namespace ekms;

namespace {

const std::string kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const std::string kMaterial = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

Bytes hex(const std::string& s) {
  Bytes out;
  fromHex(s, out);
  return out;
}

std::shared_ptr<const Key> fresh(const std::string& spec) {
  GeneratedKey g = generateMaterial(spec);
  return loadSoftwareKey({kKeyId, spec, kMaterial}, g.material);
}

Bytes digestOfMessage(const AlgorithmInfo& alg, ByteView msg) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(msg.data, msg.size, out.data(), &len, digestOf(alg), nullptr);
  out.resize(len);
  return out;
}

}  // namespace

TEST(sign_and_verify_every_spec_and_algorithm) {
  struct Case {
    const char* spec;
    std::vector<const char*> algs;
  };
  const Case cases[] = {
      {"RSA_2048", {"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
                    "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}},
      {"ECC_NIST_P256", {"ECDSA_SHA_256"}},
      {"ECC_NIST_P384", {"ECDSA_SHA_384"}},
      {"ECC_NIST_P521", {"ECDSA_SHA_512"}},
      {"ECC_SECG_P256K1", {"ECDSA_SHA_256"}},
  };
  const std::string message = "a message to sign";
  for (const auto& c : cases) {
    auto key = fresh(c.spec);
    for (const char* name : c.algs) {
      const AlgorithmInfo& alg = algorithm(name);
      Bytes raw = key->sign(alg, false, message);
      key->verify(alg, false, message, raw);
      Bytes digest = digestOfMessage(alg, message);
      Bytes fromDigest = key->sign(alg, true, digest);
      // A signature over the digest verifies as a signature over the message, and vice versa.
      key->verify(alg, false, message, fromDigest);
      key->verify(alg, true, digest, raw);
      Bytes bad = raw;
      bad[bad.size() / 2] ^= 1;
      CHECK_THROWS_CODE(key->verify(alg, false, message, bad), ErrorCode::InvalidSignature);
      CHECK_THROWS_CODE(key->verify(alg, false, std::string("another message"), raw), ErrorCode::InvalidSignature);
    }
  }
}

// Pure ML-DSA where the OpenSSL has it (3.5 on). The μ path is checked against the message here:
// a signature made from μ must verify as one over the message μ stands for, and the reverse.
TEST(ml_dsa_signs_where_openssl_has_it) {
  if (!mlDsaAvailable()) {
    CHECK_THROWS_CODE(generateMaterial("ML_DSA_65"), ErrorCode::Unsupported);
    return;
  }
  const AlgorithmInfo& alg = algorithm("ML_DSA_SHAKE_256");
  const std::string message = "a message for ML-DSA";
  for (const char* spec : {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"}) {
    GeneratedKey g = generateMaterial(spec);
    auto key = loadSoftwareKey({kKeyId, spec, kMaterial}, g.material);
    Bytes sig = key->sign(alg, false, message);
    key->verify(alg, false, message, sig);
    CHECK_THROWS_CODE(key->verify(alg, false, std::string("another message"), sig), ErrorCode::InvalidSignature);
    // μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64) (FIPS 204 §6.2, empty context).
    Pkey pub = parseSpki(g.publicKey);
    std::size_t pkLen = 0;
    CHECK(EVP_PKEY_get_raw_public_key(pub.get(), nullptr, &pkLen) == 1);
    Bytes pk(pkLen);
    CHECK(EVP_PKEY_get_raw_public_key(pub.get(), pk.data(), &pkLen) == 1);
    auto shake = [](std::initializer_list<ByteView> parts) {
      Bytes out(64);
      MdCtx md(EVP_MD_CTX_new());
      CHECK(EVP_DigestInit_ex(md.get(), EVP_shake256(), nullptr) == 1);
      for (ByteView part : parts) CHECK(EVP_DigestUpdate(md.get(), part.data, part.size) == 1);
      CHECK(EVP_DigestFinalXOF(md.get(), out.data(), out.size()) == 1);
      return out;
    };
    const Bytes tr = shake({pk});
    const uint8_t domain[2] = {0, 0};
    const Bytes mu = shake({tr, ByteView(domain, 2), message});
    Bytes viaMu = key->sign(alg, true, mu);
    key->verify(alg, false, message, viaMu);
    key->verify(alg, true, mu, sig);
    CHECK_THROWS_CODE(key->verify(alg, true, shake({tr, ByteView(domain, 2), std::string("other")}), sig), ErrorCode::InvalidSignature);
    // Loading checks that the material is of the spec's own level.
    CHECK_THROWS_CODE(loadSoftwareKey({kKeyId, std::strcmp(spec, "ML_DSA_44") == 0 ? "ML_DSA_65" : "ML_DSA_44", kMaterial}, g.material),
                      ErrorCode::InvalidKeyBlob);
  }
}

TEST(ed25519_signs_raw_messages) {
  auto key = fresh("ECC_NIST_EDWARDS25519");
  const AlgorithmInfo& alg = algorithm("ED25519_SHA_512");
  Bytes sig = key->sign(alg, false, std::string("hello"));
  CHECK(sig.size() == 64);
  key->verify(alg, false, std::string("hello"), sig);
  CHECK_THROWS_CODE(key->verify(alg, false, std::string("hellp"), sig), ErrorCode::InvalidSignature);
#if OPENSSL_VERSION_NUMBER < 0x30200000L
  CHECK_THROWS_CODE(key->sign(algorithm("ED25519_PH_SHA_512"), true, Bytes(64, 1)), ErrorCode::Unsupported);
#endif
}

TEST(rsa_oaep_round_trip_and_tamper) {
  auto key = fresh("RSA_2048");
  for (const char* name : {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}) {
    const AlgorithmInfo& alg = algorithm(name);
    Bytes ct = key->encrypt(alg, std::string("secret"), {});
    CHECK(ct.size() == 256);
    SecretBytes pt = key->decrypt(alg, ct, {});
    CHECK(std::string(pt.begin(), pt.end()) == "secret");
    ct[10] ^= 1;
    CHECK_THROWS_CODE(key->decrypt(alg, ct, {}), ErrorCode::InvalidCiphertext);
  }
  CHECK_THROWS_CODE(key->encrypt(algorithm("RSAES_OAEP_SHA_256"), Bytes(191, 0), {}), ErrorCode::InvalidInput);
}

TEST(ecdh_agrees_between_two_keys) {
  GeneratedKey a = generateMaterial("ECC_NIST_P256");
  GeneratedKey b = generateMaterial("ECC_NIST_P256");
  auto ka = loadSoftwareKey({kKeyId, "ECC_NIST_P256", kMaterial}, a.material);
  auto kb = loadSoftwareKey({kKeyId, "ECC_NIST_P256", kMaterial}, b.material);
  SecretBytes s1 = ka->deriveSharedSecret(b.publicKey);
  SecretBytes s2 = kb->deriveSharedSecret(a.publicKey);
  CHECK(s1.size() == 32);
  CHECK(s1 == s2);
  GeneratedKey other = generateMaterial("ECC_NIST_P384");
  CHECK_THROWS_CODE(ka->deriveSharedSecret(other.publicKey), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(ka->deriveSharedSecret(Bytes(10, 0)), ErrorCode::InvalidInput);
  // The point at infinity (its one-byte encoding 0x00) under P-256's algorithm identifier: DER
  // takes it; the agreement must not.
  const std::size_t algLen = 2 + b.publicKey[3];
  Bytes infinity{0x30, static_cast<uint8_t>(algLen + 4)};
  infinity.insert(infinity.end(), b.publicKey.begin() + 2, b.publicKey.begin() + 2 + static_cast<std::ptrdiff_t>(algLen));
  for (int byte : {0x03, 0x02, 0x00, 0x00}) infinity.push_back(static_cast<uint8_t>(byte));
  CHECK_THROWS_CODE(ka->deriveSharedSecret(infinity), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(parseEcdhPeer(parseSpki(a.publicKey).get(), infinity), ErrorCode::InvalidInput);
  CHECK(parseEcdhPeer(parseSpki(a.publicKey).get(), b.publicKey) != nullptr);
  // b's own point, its SubjectPublicKeyInfo spelling P-256 out as explicit parameters.
  Pkey explicitB = parseSpki(b.publicKey);
  CHECK(namesItsCurve(explicitB.get()));
  CHECK(EVP_PKEY_set_utf8_string_param(explicitB.get(), OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 1);
  CHECK(!namesItsCurve(explicitB.get()));
  Bytes explicitSpki = spkiOf(explicitB.get());
  CHECK(explicitSpki.size() > b.publicKey.size());
  CHECK_THROWS_CODE(ka->deriveSharedSecret(explicitSpki), ErrorCode::InvalidInput);
}

TEST(symmetric_ciphertext_round_trip_context_and_every_byte) {
  auto key = fresh("SYMMETRIC_DEFAULT");
  const AlgorithmInfo& alg = algorithm("SYMMETRIC_DEFAULT");
  EncryptionContext ctx{{"purpose", "test"}, {"a", "b"}};
  Bytes ct = key->encrypt(alg, std::string("plaintext"), ctx);
  CiphertextParts parts = parseCiphertext(ct);
  CHECK(parts.keyId == kKeyId);
  CHECK(parts.materialId == kMaterial);
  // Context order does not matter: the encoding is canonical.
  EncryptionContext reordered{{"a", "b"}, {"purpose", "test"}};
  SecretBytes pt = key->decrypt(alg, ct, reordered);
  CHECK(std::string(pt.begin(), pt.end()) == "plaintext");
  CHECK_THROWS_CODE(key->decrypt(alg, ct, {}), ErrorCode::InvalidCiphertext);
  CHECK_THROWS_CODE(key->decrypt(alg, ct, {{"purpose", "test"}, {"a", "c"}}), ErrorCode::InvalidCiphertext);
  // Ambiguity check: ("ab","c") and ("a","bc") must not collide.
  Bytes c1 = encodeContext({{"ab", "c"}});
  Bytes c2 = encodeContext({{"a", "bc"}});
  CHECK(c1 != c2);
  for (std::size_t i = 0; i < ct.size(); ++i) {
    Bytes bad = ct;
    bad[i] ^= 0x80;
    bool threw = false;
    try {
      key->decrypt(alg, bad, ctx);
    } catch (const Error& e) {
      threw = e.code() == ErrorCode::InvalidCiphertext || e.code() == ErrorCode::IncorrectKey;
    }
    CHECK(threw);
  }
  for (std::size_t n = 0; n < ct.size(); ++n) {
    Bytes cut(ct.begin(), ct.begin() + static_cast<long>(n));
    CHECK_THROWS_CODE(key->decrypt(alg, cut, ctx), ErrorCode::InvalidCiphertext);
  }
}

TEST(hmac_rfc4231_test_case_2) {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  struct Vector {
    const char* spec;
    const char* alg;
    const char* mac;
  };
  const Vector vectors[] = {
      {"HMAC_224", "HMAC_SHA_224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
      {"HMAC_256", "HMAC_SHA_256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"HMAC_384", "HMAC_SHA_384",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
      {"HMAC_512", "HMAC_SHA_512",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
  };
  for (const auto& v : vectors) {
    auto k = loadSoftwareKey({kKeyId, v.spec, kMaterial}, key);
    CHECK(k->mac(algorithm(v.alg), data) == hex(v.mac));
    verifyMac(*k, algorithm(v.alg), data, hex(v.mac));
    CHECK_THROWS_CODE(verifyMac(*k, algorithm(v.alg), std::string("other"), hex(v.mac)), ErrorCode::InvalidMac);
  }
}

TEST(aes_gcm_nist_test_case_16) {
  Bytes key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  Bytes iv = hex("cafebabefacedbaddecaf888");
  Bytes aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes pt = hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  Bytes expected = hex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  Bytes out;
  gcmSeal(key, iv, aad, pt, out);
  CHECK(out == expected);
  SecretBytes back;
  CHECK(gcmOpen(key, iv, aad, ByteView(out.data(), pt.size()), ByteView(out.data() + pt.size(), 16), back));
  CHECK(Bytes(back.begin(), back.end()) == pt);
}

TEST(data_keys_decrypt_under_their_key) {
  auto key = fresh("SYMMETRIC_DEFAULT");
  const AlgorithmInfo& alg = algorithm("SYMMETRIC_DEFAULT");
  DataKey dk = generateDataKey(*key, alg, 32, {{"k", "v"}}, true);
  CHECK(dk.plaintext.size() == 32);
  CHECK(key->decrypt(alg, dk.ciphertext, {{"k", "v"}}) == dk.plaintext);
  DataKey hidden = generateDataKey(*key, alg, 16, {}, false);
  CHECK(hidden.plaintext.empty());
  DataKey pair = generateDataKeyPair(*key, alg, "ECC_NIST_P256", {}, true);
  CHECK(publicKeyOf(pair.plaintext) == pair.publicKey);
  CHECK(key->decrypt(alg, pair.ciphertext, {}) == pair.plaintext);
}

TEST(key_cache_is_bounded_and_closes) {
  auto root = RootKey::fromBytes(randomBytes(32));
  KeyCache cache(2);
  std::vector<std::unique_ptr<WrappedKeySource>> sources;
  for (int i = 0; i < 3; ++i) {
    KeyIdentity id{"key-" + std::to_string(i), "SYMMETRIC_DEFAULT", kMaterial};
    GeneratedKey g = generateMaterial("SYMMETRIC_DEFAULT");
    sources.push_back(std::make_unique<WrappedKeySource>(root, id, root->wrap(id, g.material)));
    cache.get(*sources.back());
  }
  CHECK(cache.size() == 2);
  cache.evictKey("key-2");
  CHECK(cache.size() == 1);
  cache.close();
  CHECK(cache.size() == 0);
  CHECK_THROWS_CODE(cache.get(*sources[0]), ErrorCode::KeyUnavailable);
}

TEST(key_cache_peek_never_loads) {
  // peek() is what lets the binding run small AES/HMAC work inline: it must not unwrap.
  auto root = RootKey::fromBytes(randomBytes(32));
  KeyCache cache(4);
  KeyIdentity id{"key-peek", "SYMMETRIC_DEFAULT", kMaterial};
  GeneratedKey g = generateMaterial("SYMMETRIC_DEFAULT");
  WrappedKeySource source(root, id, root->wrap(id, g.material));
  CHECK(cache.peek(source.cacheKey()) == nullptr);
  CHECK(cache.size() == 0);
  auto loaded = cache.get(source);
  CHECK(cache.peek(source.cacheKey()) == loaded);
  CHECK(loaded->cheapToRunInline());
  cache.close();
  CHECK(cache.peek(source.cacheKey()) == nullptr);
}

TEST(only_software_symmetric_keys_run_inline) {
  CHECK(fresh("SYMMETRIC_DEFAULT")->cheapToRunInline());
  CHECK(fresh("HMAC_256")->cheapToRunInline());
  CHECK(!fresh("ECC_NIST_P256")->cheapToRunInline());
  CHECK(!fresh("RSA_2048")->cheapToRunInline());
}

TEST(only_fast_signing_keys_sign_inline) {
  CHECK(fresh("ECC_NIST_P256")->cheapToSignInline());
  CHECK(fresh("ECC_NIST_EDWARDS25519")->cheapToSignInline());
  CHECK(fresh("RSA_2048")->cheapToSignInline());
  CHECK(!fresh("RSA_3072")->cheapToSignInline());
  CHECK(!fresh("RSA_4096")->cheapToSignInline());
  CHECK(fresh("ECC_NIST_P384")->cheapToSignInline());
  CHECK(fresh("ECC_NIST_P521")->cheapToSignInline());
  CHECK(fresh("ECC_SECG_P256K1")->cheapToSignInline());
  CHECK(!fresh("SYMMETRIC_DEFAULT")->cheapToSignInline());
}

TEST(rsa_keys_of_every_size_and_every_curve_verify_inline) {
  CHECK(fresh("RSA_2048")->cheapToVerifyInline());
  CHECK(fresh("RSA_4096")->cheapToVerifyInline());
  CHECK(fresh("ECC_NIST_P256")->cheapToVerifyInline());
  CHECK(fresh("ECC_NIST_P384")->cheapToVerifyInline());
  CHECK(fresh("ECC_SECG_P256K1")->cheapToVerifyInline());
}

TEST(public_key_encryption_and_cheap_private_key_work_run_inline) {
  CHECK(fresh("RSA_2048")->cheapToEncryptInline());
  CHECK(fresh("RSA_4096")->cheapToEncryptInline());
  CHECK(fresh("RSA_2048")->cheapToDecryptInline());
  CHECK(!fresh("RSA_4096")->cheapToDecryptInline());
  CHECK(fresh("ECC_NIST_P256")->cheapToDeriveInline());
  CHECK(fresh("ECC_NIST_P384")->cheapToDeriveInline());
  CHECK(!fresh("RSA_2048")->cheapToDeriveInline());
  CHECK(fresh("SYMMETRIC_DEFAULT")->cheapToEncryptInline());
  CHECK(fresh("SYMMETRIC_DEFAULT")->cheapToDecryptInline());
  CHECK(!fresh("SYMMETRIC_DEFAULT")->cheapToDeriveInline());
}

TEST(openssl_is_the_linked_version) {
  // The static OpenSSL we link reports the version of the headers we built against.
  CHECK(opensslVersion() == OPENSSL_VERSION_TEXT);
}

TEST_MAIN
