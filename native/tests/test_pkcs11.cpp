// Token keys on a real SoftHSM2 token made for this test in a temporary folder: generation for
// every key spec, every operation checked independently with OpenSSL from the public key,
// attributes read back, reloading, destruction, 64 operations across threads on one pool.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "check.hpp"
#include "ekms/key_cache.hpp"
#include "ekms/pkcs11/token_import.hpp"
#include "ekms/pkcs11/token_key.hpp"

using namespace ekms;
using namespace ekms::pkcs11;

namespace {

const char* modulePath() {
  const char* m = getenv("EKMS_TEST_PKCS11_MODULE");
  return m != nullptr ? m : "/usr/lib/softhsm/libsofthsm2.so";
}

// A private SoftHSM2 token folder for this process (SOFTHSM2_CONF), one token labelled `label`.
void makeToken(const std::string& label) {
  static std::string dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/ekms-p11-XXXXXX";
    dir = mkdtemp(tmpl);
    std::atexit([] {  // the token folder goes with the test
    int rc = std::system(("rm -rf " + dir).c_str());
    (void)rc;
  });
    std::string conf = dir + "/softhsm2.conf";
    FILE* f = fopen(conf.c_str(), "w");
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", dir.c_str());
    fclose(f);
    setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  }
  std::string cmd = "softhsm2-util --init-token --free --label " + label + " --pin 1234 --so-pin 5678 >/dev/null";
  if (system(cmd.c_str()) != 0) {
    fprintf(stderr, "cannot create a SoftHSM2 token (is softhsm2 installed?)\n");
    exit(1);
  }
}

std::shared_ptr<Token> openToken(std::size_t sessions = 4) {
  static bool made = false;
  if (!made) makeToken("ekms-native");
  made = true;
  TokenOptions o;
  o.modulePath = modulePath();
  o.label = "ekms-native";
  o.pin = SecretBytes{'1', '2', '3', '4'};
  o.sessions = sessions;
  return Token::open(std::move(o));
}

int serial = 0;
KeyIdentity identity(const std::string& spec) {
  char material[65];
  snprintf(material, sizeof material, "%064x", ++serial);
  return {"11111111-2222-3333-4444-" + std::to_string(100000000000 + serial), spec, material};
}

struct PkeyFreer {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFreer>;

PkeyPtr spki(const Bytes& der) {
  const uint8_t* p = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

// Independent check with OpenSSL's EVP (not the code under test).
bool opensslVerifies(EVP_PKEY* pub, const AlgorithmInfo& alg, const std::string& message, const Bytes& sig) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* digest = alg.digest != nullptr ? EVP_get_digestbyname(alg.digest) : nullptr;
  bool ok = EVP_DigestVerifyInit(md, &pctx, digest, nullptr, pub) == 1;
  if (ok && alg.padding == Padding::Pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(alg.digestLen)) == 1;
  }
  ok = ok && EVP_DigestVerify(md, sig.data(), sig.size(), reinterpret_cast<const uint8_t*>(message.data()),
                              message.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

Bytes digestOf(const AlgorithmInfo& alg, const std::string& message) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(message.data(), message.size(), out.data(), &len, EVP_get_digestbyname(alg.digest), nullptr);
  out.resize(len);
  return out;
}

}  // namespace

TEST(every_signing_spec_signs_on_the_token_and_openssl_verifies) {
  auto token = openToken();
  struct Case {
    const char* spec;
    std::vector<const char*> algs;
  };
  const Case cases[] = {
      {"RSA_2048", {"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
                    "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}},
      {"RSA_3072", {"RSASSA_PKCS1_V1_5_SHA_256"}},
      {"ECC_NIST_P256", {"ECDSA_SHA_256"}},
      {"ECC_NIST_P384", {"ECDSA_SHA_384"}},
      {"ECC_NIST_P521", {"ECDSA_SHA_512"}},
      {"ECC_SECG_P256K1", {"ECDSA_SHA_256"}},
      {"ECC_NIST_EDWARDS25519", {"ED25519_SHA_512"}},
  };
  const std::string message = "a message signed inside the token";
  for (const auto& c : cases) {
    GeneratedTokenKey g = generateTokenKey(token, identity(c.spec), "SIGN_VERIFY", "teststore");
    PkeyPtr pub = spki(g.publicKey);
    CHECK(pub != nullptr);
    for (const char* name : c.algs) {
      const AlgorithmInfo& alg = algorithm(name);
      Bytes sig = g.key->sign(alg, false, message);
      if (!opensslVerifies(pub.get(), alg, message, sig)) check::fail(__FILE__, __LINE__, std::string(c.spec) + " " + name);
      g.key->verify(alg, false, message, sig);
      if (alg.digest != nullptr) {
        Bytes fromDigest = g.key->sign(alg, true, digestOf(alg, message));
        CHECK(opensslVerifies(pub.get(), alg, message, fromDigest));
      }
      sig[sig.size() / 2] ^= 1;
      CHECK_THROWS_CODE(g.key->verify(alg, false, message, sig), ErrorCode::InvalidSignature);
    }
    CHECK(destroyTokenKey(token, g.tokenRef) == 2);
  }
}

TEST(rsa_oaep_decrypts_what_openssl_encrypts_with_sha1_and_sha256) {
  auto token = openToken();
  GeneratedTokenKey g = generateTokenKey(token, identity("RSA_2048"), "ENCRYPT_DECRYPT", "teststore");
  PkeyPtr pub = spki(g.publicKey);
  for (const char* name : {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}) {
    const AlgorithmInfo& alg = algorithm(name);
    const EVP_MD* md = EVP_get_digestbyname(alg.digest);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pub.get(), nullptr);
    EVP_PKEY_encrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md);
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md);
    const std::string secret = "data key bytes";
    std::size_t len = 512;
    Bytes ct(len);
    CHECK(EVP_PKEY_encrypt(ctx, ct.data(), &len, reinterpret_cast<const uint8_t*>(secret.data()), secret.size()) == 1);
    EVP_PKEY_CTX_free(ctx);
    ct.resize(len);
    SecretBytes pt = g.key->decrypt(alg, ct, {});
    CHECK(std::string(pt.begin(), pt.end()) == secret);
    // Our own encryption (software, public key) round-trips too.
    Bytes ours = g.key->encrypt(alg, ByteView(pt), {});
    CHECK(g.key->decrypt(alg, ours, {}) == pt);
    // Any tampering is one uniform InvalidCiphertext.
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, ct.size() / 2, ct.size() - 1}) {
      Bytes bad = ct;
      bad[i] ^= 0x40;
      CHECK_THROWS_CODE(g.key->decrypt(alg, bad, {}), ErrorCode::InvalidCiphertext);
    }
    Bytes shortCt(ct.begin(), ct.end() - 1);
    CHECK_THROWS_CODE(g.key->decrypt(alg, shortCt, {}), ErrorCode::InvalidCiphertext);
  }
  destroyTokenKey(token, g.tokenRef);
}

TEST(symmetric_default_uses_the_ciphertext_format_and_fails_uniformly) {
  auto token = openToken();
  KeyIdentity id = identity("SYMMETRIC_DEFAULT");
  GeneratedTokenKey g = generateTokenKey(token, id, "ENCRYPT_DECRYPT", "teststore");
  CHECK(g.publicKey.empty());
  const AlgorithmInfo& alg = algorithm("SYMMETRIC_DEFAULT");
  const std::string plaintext = "attack at dawn";
  EncryptionContext ctx{{"purpose", "test"}};
  Bytes ct = g.key->encrypt(alg, plaintext, ctx);
  CiphertextParts parts = parseCiphertext(ct);
  CHECK(parts.keyId == id.keyId && parts.materialId == id.materialId);
  CHECK(ct.size() == 2 + id.keyId.size() + 32 + 12 + plaintext.size() + 16);
  SecretBytes back = g.key->decrypt(alg, ct, ctx);
  CHECK(std::string(back.begin(), back.end()) == plaintext);
  CHECK_THROWS_CODE(g.key->decrypt(alg, ct, {{"purpose", "other"}}), ErrorCode::InvalidCiphertext);
  for (std::size_t i = 2 + id.keyId.size() + 32; i < ct.size(); i += 7) {  // nonce, body and tag
    Bytes bad = ct;
    bad[i] ^= 1;
    CHECK_THROWS_CODE(g.key->decrypt(alg, bad, ctx), ErrorCode::InvalidCiphertext);
  }
  Bytes otherKey = ct;
  otherKey[2] ^= 1;  // names another key id
  CHECK_THROWS_CODE(g.key->decrypt(alg, otherKey, ctx), ErrorCode::IncorrectKey);
  destroyTokenKey(token, g.tokenRef);
}

TEST(hmac_is_deterministic_and_verifies) {
  auto token = openToken();
  for (const char* spec : {"HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"}) {
    GeneratedTokenKey g = generateTokenKey(token, identity(spec), "GENERATE_VERIFY_MAC", "teststore");
    const std::string algName = std::string("HMAC_SHA_") + (spec + 5);
    const AlgorithmInfo& alg = algorithm(algName);
    Bytes a = g.key->mac(alg, std::string("message"));
    CHECK(a.size() == alg.digestLen);
    CHECK(g.key->mac(alg, std::string("message")) == a);
    CHECK(g.key->mac(alg, std::string("messagf")) != a);
    verifyMac(*g.key, alg, std::string("message"), a);
    a[0] ^= 1;
    CHECK_THROWS_CODE(verifyMac(*g.key, alg, std::string("message"), a), ErrorCode::InvalidMac);
    destroyTokenKey(token, g.tokenRef);
  }
}

TEST(ecdh_matches_an_independent_openssl_derivation) {
  auto token = openToken();
  for (const char* spec : {"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"}) {
    GeneratedTokenKey g = generateTokenKey(token, identity(spec), "KEY_AGREEMENT", "teststore");
    const char* curve = std::strcmp(spec, "ECC_NIST_P256") == 0 ? "P-256" : std::strcmp(spec, "ECC_NIST_P384") == 0 ? "P-384" : "P-521";
    PkeyPtr peer(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    int len = i2d_PUBKEY(peer.get(), nullptr);
    Bytes peerDer(static_cast<std::size_t>(len));
    uint8_t* p = peerDer.data();
    i2d_PUBKEY(peer.get(), &p);
    SecretBytes ours = g.key->deriveSharedSecret(peerDer);

    PkeyPtr tokenPub = spki(g.publicKey);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(peer.get(), nullptr);
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, tokenPub.get());
    std::size_t n = 0;
    EVP_PKEY_derive(ctx, nullptr, &n);
    Bytes expected(n);
    EVP_PKEY_derive(ctx, expected.data(), &n);
    EVP_PKEY_CTX_free(ctx);
    CHECK(Bytes(ours.begin(), ours.end()) == expected);

    PkeyPtr otherCurve(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", std::strcmp(curve, "P-256") == 0 ? "P-384" : "P-256"));
    len = i2d_PUBKEY(otherCurve.get(), nullptr);
    Bytes otherDer(static_cast<std::size_t>(len));
    p = otherDer.data();
    i2d_PUBKEY(otherCurve.get(), &p);
    CHECK_THROWS_CODE(g.key->deriveSharedSecret(otherDer), ErrorCode::InvalidInput);
    destroyTokenKey(token, g.tokenRef);
  }
}

TEST(objects_are_sensitive_never_extractable_and_named) {
  auto token = openToken();
  for (const char* spec : {"RSA_2048", "ECC_NIST_P256", "SYMMETRIC_DEFAULT", "HMAC_256", "ECC_NIST_EDWARDS25519"}) {
    const char* usage = std::strncmp(spec, "HMAC", 4) == 0 ? "GENERATE_VERIFY_MAC"
                        : std::strcmp(spec, "SYMMETRIC_DEFAULT") == 0 ? "ENCRYPT_DECRYPT"
                                                                      : "SIGN_VERIFY";
    KeyIdentity id = identity(spec);
    GeneratedTokenKey g = generateTokenKey(token, id, usage, "store42");
    TokenKeyAttributes a = readTokenKeyAttributes(token, g.tokenRef);
    CHECK(a.found && a.sensitive && !a.extractable && a.neverExtractable && a.alwaysSensitive);
    CHECK(a.onToken && a.isPrivate);
    CHECK(a.valueRefused);
    CHECK(a.valueRv == "CKR_ATTRIBUTE_SENSITIVE");
    CHECK(std::string(a.id.begin(), a.id.end()) == id.keyId + "/" + id.materialId);
    CHECK(a.label == "ekms store42 " + id.keyId);
    CHECK(a.hasPublicObject == !g.publicKey.empty());
    destroyTokenKey(token, g.tokenRef);
  }
}

TEST(keys_reload_from_the_token_and_destruction_removes_them) {
  auto token = openToken();
  KeyIdentity id = identity("ECC_NIST_P256");
  GeneratedTokenKey g = generateTokenKey(token, id, "SIGN_VERIFY", "reload");
  const AlgorithmInfo& alg = algorithm("ECDSA_SHA_256");
  // Without the stored public key: read from the token's public object.
  TokenKeySource fromToken(token, id, g.tokenRef, {});
  auto k1 = fromToken.load();
  Bytes sig = k1->sign(alg, false, std::string("x"));
  g.key->verify(alg, false, std::string("x"), sig);
  TokenKeySource fromStore(token, id, g.tokenRef, g.publicKey);
  fromStore.load()->verify(alg, false, std::string("x"), sig);

  std::vector<std::string> refs = listTokenRefs(token, "reload");
  CHECK(refs.size() == 1 && refs[0] == g.tokenRef);
  CHECK(destroyTokenKey(token, g.tokenRef) == 2);
  CHECK(destroyTokenKey(token, g.tokenRef) == 0);
  CHECK(listTokenRefs(token, "reload").empty());
  // The token answers, and the object is gone: not a fault that a retry could mend.
  CHECK_THROWS_CODE(k1->sign(alg, false, std::string("x")), ErrorCode::KeyMaterialGone);
}

// A store restored from a backup shares the original's token objects: it destroys and renames
// only objects whose label names one of the stores it owns objects of.
TEST(objects_another_store_made_are_neither_destroyed_nor_renamed) {
  auto token = openToken();
  KeyIdentity id = identity("ECC_NIST_P256");
  GeneratedTokenKey g = generateTokenKey(token, id, "SIGN_VERIFY", "original-store");
  const AlgorithmInfo& alg = algorithm("ECDSA_SHA_256");
  TokenKeySource source(token, id, g.tokenRef, g.publicKey);

  CHECK(countOthersTokenObjects(token, g.tokenRef, {"restored-copy"}) == 2);  // private and public
  CHECK(countOthersTokenObjects(token, g.tokenRef, {"restored-copy", "original-store"}) == 0);
  CHECK(countOthersTokenObjects(token, id.keyId + "/no-such-material", {"restored-copy"}) == 0);
  TokenDestruction kept = destroyOwnedTokenKey(token, g.tokenRef, {"restored-copy", "original"});
  CHECK(kept.destroyed == 0 && kept.othersKept == 2);
  CHECK_THROWS_CODE(commitImportedObject(token, g.tokenRef, id.keyId + "/doomed-x", {"restored-copy"}), ErrorCode::KeyUnavailable);
  g.key->verify(alg, false, std::string("x"), source.load()->sign(alg, false, std::string("x")));

  // The copy's own object may take the name beside the original's (the same material imported
  // into both stores): each store then destroys only its own.
  GeneratedTokenKey mine = generateTokenKey(token, identity("ECC_NIST_P256"), "SIGN_VERIFY", "restored-copy");
  CHECK(commitImportedObject(token, mine.tokenRef, g.tokenRef, {"restored-copy"}));
  // Each store's key uses its own of the two (here different keys, to tell which signed).
  auto copys = loadTokenKey(token, id, g.tokenRef, g.publicKey, {"restored-copy"});
  auto originals = loadTokenKey(token, id, g.tokenRef, g.publicKey, {"original-store"});
  for (int i = 0; i < 2; ++i) {
    mine.key->verify(alg, false, std::string("x"), copys->sign(alg, false, std::string("x")));
    g.key->verify(alg, false, std::string("x"), originals->sign(alg, false, std::string("x")));
  }
  CHECK(countOthersTokenObjects(token, g.tokenRef, {"restored-copy"}) == 2);  // its own are not counted
  TokenDestruction copysOwn = destroyOwnedTokenKey(token, g.tokenRef, {"restored-copy"});
  CHECK(copysOwn.destroyed == 2 && copysOwn.othersKept == 2);
  g.key->verify(alg, false, std::string("x"), source.load()->sign(alg, false, std::string("x")));

  // Its owner (here among others) renames and destroys it; an object of its own already under
  // the final name makes a pending one redundant.
  const std::string renamed = id.keyId + "/renamed";
  CHECK(commitImportedObject(token, g.tokenRef, renamed, {"restored-copy", "original-store"}));
  GeneratedTokenKey again = generateTokenKey(token, identity("ECC_NIST_P256"), "SIGN_VERIFY", "original-store");
  CHECK(!commitImportedObject(token, again.tokenRef, renamed, {"original-store"}));
  CHECK(destroyTokenKey(token, again.tokenRef) == 0);
  TokenDestruction gone = destroyOwnedTokenKey(token, renamed, {"original-store"});
  CHECK(gone.destroyed == 2 && gone.othersKept == 0);
  CHECK(destroyTokenKey(token, renamed) == 0);
}

// Other threads (or processes) may destroy a store's objects while they are listed or
// destroyed here too, as the expiry of imported material does beside an orphan sweep. SoftHSM2
// then fails calls on an object it is deleting (CKR_GENERAL_ERROR, CKR_ATTRIBUTE_VALUE_INVALID,
// not only CKR_OBJECT_HANDLE_INVALID). The listing must succeed and list each object that stays;
// two destructions of the same objects must both succeed, and destroy each object once.
TEST(listing_and_destroying_while_objects_are_destroyed_elsewhere) {
  auto token = openToken(4);
  std::vector<GeneratedTokenKey> doomed;
  for (int i = 0; i < 24; ++i) doomed.push_back(generateTokenKey(token, identity("SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "churn"));
  GeneratedTokenKey kept = generateTokenKey(token, identity("SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "churn");
  std::atomic<int> running{2}, destroyed{0}, destroyFailures{0};
  auto destroyAll = [&](bool reverse) {
    for (std::size_t i = 0; i < doomed.size(); ++i) {
      try {
        destroyed += static_cast<int>(destroyTokenKey(token, doomed[reverse ? doomed.size() - 1 - i : i].tokenRef));
      } catch (const std::exception& e) {
        if (++destroyFailures == 1) fprintf(stderr, "  destruction failed: %s\n", e.what());
      }
    }
    --running;
  };
  std::thread forward(destroyAll, false), backward(destroyAll, true);
  int failures = 0, listings = 0, keptMissing = 0;
  while (running.load() > 0 || listings == 0) {
    try {
      std::vector<std::string> refs = listTokenRefs(token, "churn");
      ++listings;
      if (std::find(refs.begin(), refs.end(), kept.tokenRef) == refs.end()) ++keptMissing;
    } catch (const std::exception& e) {
      if (++failures == 1) fprintf(stderr, "  listing failed: %s\n", e.what());
    }
  }
  forward.join();
  backward.join();
  fprintf(stderr, "  %d listings beside the destructions\n", listings);
  CHECK(failures == 0);
  CHECK(keptMissing == 0);
  CHECK(destroyFailures.load() == 0);
  CHECK(destroyed.load() == 24);
  std::vector<std::string> after = listTokenRefs(token, "churn");
  CHECK(after.size() == 1 && after[0] == kept.tokenRef);
  destroyTokenKey(token, kept.tokenRef);
}

TEST(sixty_four_operations_on_four_sessions_from_eight_threads) {
  auto token = openToken(4);
  GeneratedTokenKey ec = generateTokenKey(token, identity("ECC_NIST_P256"), "SIGN_VERIFY", "conc");
  GeneratedTokenKey aes = generateTokenKey(token, identity("SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "conc");
  const AlgorithmInfo& ecdsa = algorithm("ECDSA_SHA_256");
  const AlgorithmInfo& sym = algorithm("SYMMETRIC_DEFAULT");
  PkeyPtr pub = spki(ec.publicKey);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        std::string msg = "message " + std::to_string(t * 8 + i);
        try {
          if (i % 2 == 0) {
            Bytes sig = ec.key->sign(ecdsa, false, msg);
            if (opensslVerifies(pub.get(), ecdsa, msg, sig)) ++good;
          } else {
            SecretBytes back = aes.key->decrypt(sym, aes.key->encrypt(sym, msg, {}), {});
            if (std::string(back.begin(), back.end()) == msg) ++good;
          }
        } catch (const std::exception& e) {
          fprintf(stderr, "  operation failed: %s\n", e.what());
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(good.load() == 64);
  destroyTokenKey(token, ec.tokenRef);
  destroyTokenKey(token, aes.tokenRef);
}

TEST(on_the_callers_thread_a_busy_token_would_block_instead_of_waiting) {
  auto token = openToken(1);
  GeneratedTokenKey ec = generateTokenKey(token, identity("ECC_NIST_P256"), "SIGN_VERIFY", "callers-thread");
  const AlgorithmInfo& ecdsa = algorithm("ECDSA_SHA_256");
  {
    Session busy = token->acquire();  // the only session, held elsewhere
    CHECK(!token->sessionReady());
    bool wouldBlock = false;
    try {
      CallersThread here;
      (void)ec.key->sign(ecdsa, false, std::string("m"));
    } catch (const WouldBlock&) {
      wouldBlock = true;
    }
    CHECK(wouldBlock);
  }
  CHECK(token->sessionReady());
  {
    CallersThread here;  // a session is idle now: the caller's thread may use it
    CHECK(!ec.key->sign(ecdsa, false, std::string("m")).empty());
  }
  destroyTokenKey(token, ec.tokenRef);
}

TEST(random_bytes_come_from_the_token) {
  auto token = openToken();
  Bytes a = tokenRandom(token, 32), b = tokenRandom(token, 32);
  CHECK(a.size() == 32 && a != b);
}

TEST(info_lists_token_identity_and_mechanisms) {
  auto token = openToken();
  TokenInfo info = token->info();
  CHECK(info.label == "ekms-native");
  CHECK(info.manufacturer == "SoftHSM project");
  CHECK(!info.serial.empty());
  bool hasEcdsa = false;
  for (const auto& m : info.mechanisms) hasEcdsa = hasEcdsa || m == "CKM_ECDSA";
  CHECK(hasEcdsa);
}

TEST(disconnected_tokens_refuse_work_and_reconnect_with_fresh_handles) {
  auto token = openToken();
  GeneratedTokenKey g = generateTokenKey(token, identity("ECC_NIST_P256"), "SIGN_VERIFY", "dis");
  const AlgorithmInfo& alg = algorithm("ECDSA_SHA_256");
  g.key->sign(alg, false, std::string("before"));
  token->disconnect();
  CHECK(!token->connected());
  CHECK_THROWS_CODE(g.key->sign(alg, false, std::string("while")), ErrorCode::KeyUnavailable);
  token->connect();
  Bytes sig = g.key->sign(alg, false, std::string("after"));
  g.key->verify(alg, false, std::string("after"), sig);
  destroyTokenKey(token, g.tokenRef);
}

TEST_MAIN
