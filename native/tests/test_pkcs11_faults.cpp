// Opening errors and faults SoftHSM2 cannot produce by itself, through our fault-injecting
// module (native/fault-module) wrapped around SoftHSM2: locked PIN, removed device, sessions
// that die (retried once, then KeyUnavailable), stale handles; and the module's
// initialise-once, finalise-with-the-last-user lifecycle.
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "check.hpp"
#include "ekms/callers_thread.hpp"
#include "ekms/import.hpp"
#include "ekms/ossl.hpp"
#include "ekms/pkcs11/token_import.hpp"
#include "ekms/pkcs11/token_key.hpp"

using namespace ekms;
using namespace ekms::pkcs11;

namespace {

std::string dir;

const char* softhsm() {
  const char* m = getenv("EKMS_TEST_PKCS11_MODULE");
  return m != nullptr ? m : "/usr/lib/softhsm/libsofthsm2.so";
}

void setup() {
  if (!dir.empty()) return;
  char tmpl[] = "/tmp/ekms-p11f-XXXXXX";
  dir = mkdtemp(tmpl);
  std::atexit([] {  // the token folder goes with the test
    int rc = std::system(("rm -rf " + dir).c_str());
    (void)rc;
  });
  std::string conf = dir + "/softhsm2.conf";
  std::ofstream(conf) << "directories.tokendir = " << dir << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  if (system("softhsm2-util --init-token --free --label ekms-faults --pin 1234 --so-pin 5678 >/dev/null") != 0) {
    fprintf(stderr, "cannot create a SoftHSM2 token (is softhsm2 installed?)\n");
    exit(1);
  }
  setenv("EKMS_FAULT_TARGET", softhsm(), 1);
  setenv("EKMS_FAULT_LOG", (dir + "/faults.log").c_str(), 1);
}

// The plan is read when the module is initialised, i.e. when its first user opens it.
std::shared_ptr<Token> open(const std::string& plan, const std::string& pin = "1234", const std::string& label = "ekms-faults",
                            const std::string& module = EKMS_FAULT_MODULE) {
  setup();
  setenv("EKMS_FAULT_PLAN", plan.c_str(), 1);
  unlink((dir + "/faults.log").c_str());
  TokenOptions o;
  o.modulePath = module;
  o.label = label;
  o.pin = SecretBytes(pin.begin(), pin.end());
  o.sessions = 2;
  return Token::open(std::move(o));
}

std::string openError(const std::string& plan, const std::string& pin = "1234", const std::string& label = "ekms-faults",
                      const std::string& module = EKMS_FAULT_MODULE) {
  try {
    open(plan, pin, label, module);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::KeyUnavailable) return std::string("wrong code: ") + e.what();
    return e.what();
  }
  return "no error";
}

std::vector<std::string> faultLog() {
  std::ifstream in(dir + "/faults.log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return true;
  fprintf(stderr, "  '%s' does not contain '%s'\n", s.c_str(), part.c_str());
  return false;
}

KeyIdentity identity(int n, const std::string& spec = "ECC_NIST_P256") {
  char material[65];
  snprintf(material, sizeof material, "%064x", n);
  return {"faults-" + std::to_string(n), spec, material};
}

const AlgorithmInfo& ecdsa() { return algorithm("ECDSA_SHA_256"); }

// RSA-OAEP with SHA-1 (the one SoftHSM2 2.6.1 takes) by OpenSSL, as a caller outside would.
Bytes oaepSha1(ByteView spki, ByteView plaintext) {
  const uint8_t* p = spki.data;
  Pkey pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size)));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub.get(), nullptr));
  Bytes out(512);
  std::size_t len = out.size();
  CHECK(ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data, plaintext.size) == 1);
  out.resize(len);
  return out;
}

Bytes der(EVP_PKEY* key, bool priv) {
  Bytes out;
  if (priv) {
    PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key);
    out.resize(static_cast<std::size_t>(i2d_PKCS8_PRIV_KEY_INFO(p8, nullptr)));
    uint8_t* q = out.data();
    i2d_PKCS8_PRIV_KEY_INFO(p8, &q);
    PKCS8_PRIV_KEY_INFO_free(p8);
  } else {
    out.resize(static_cast<std::size_t>(i2d_PUBKEY(key, nullptr)));
    uint8_t* q = out.data();
    i2d_PUBKEY(key, &q);
  }
  return out;
}

}  // namespace

TEST(missing_module_names_the_path) {
  std::string e = openError("", "1234", "ekms-faults", "/nonexistent/libnothing.so");
  CHECK(contains(e, "/nonexistent/libnothing.so"));
  CHECK(contains(e, "no such file"));
}

TEST(a_library_that_is_not_pkcs11_is_refused) {
  Dl_info libc{};
  // wherever this system keeps libc (getpid: ASan intercepts printf, and would name the test)
  CHECK(dladdr(reinterpret_cast<void*>(&getpid), &libc) != 0);
  std::string e = openError("", "1234", "ekms-faults", libc.dli_fname);
  CHECK(contains(e, "not a PKCS#11 module"));
}

TEST(unknown_label_lists_the_tokens_present) {
  std::string e = openError("", "1234", "no-such-token");
  CHECK(contains(e, "no token labelled 'no-such-token'"));
  CHECK(contains(e, "'ekms-faults'"));
}

TEST(wrong_pin_is_reported_even_when_the_process_is_logged_in) {
  CHECK(contains(openError("", "9999"), "CKR_PIN_INCORRECT"));
  auto good = open("");
  // PKCS#11 answers CKR_USER_ALREADY_LOGGED_IN here; the module's PIN digest tells it apart.
  CHECK(contains(openError("", "9999"), "CKR_PIN_INCORRECT"));
  auto second = open("");
  CHECK(second->connected());
}

TEST(locked_pin_is_a_clear_error) {
  std::string e = openError("C_Login=CKR_PIN_LOCKED");
  CHECK(contains(e, "locked"));
  CHECK(contains(e, "CKR_PIN_LOCKED"));
  CHECK(faultLog().size() == 1);
}

TEST(a_pin_refused_after_open_is_not_presented_again_until_connect) {
  // Open logs in (#1); then sessions lose their login and the token refuses the PIN (#2 on).
  auto token = open("C_SignInit@1+=CKR_USER_NOT_LOGGED_IN,C_Login@2+=CKR_PIN_INCORRECT");
  GeneratedTokenKey g = generateTokenKey(token, identity(30), "SIGN_VERIFY", "faults");
  CHECK(token->pinRefused().empty());
  const auto logins = [] {
    std::size_t n = 0;
    for (const std::string& line : faultLog()) n += line.rfind("C_Login", 0) == 0 ? 1 : 0;
    return n;
  };
  for (int i = 0; i < 5; ++i) CHECK_THROWS_CODE(g.key->sign(ecdsa(), false, std::string("m")), ErrorCode::KeyUnavailable);
  CHECK(logins() == 1);  // five signatures refused, the PIN presented once
  CHECK(contains(token->pinRefused(), "CKR_PIN_INCORRECT"));
  token->connect();  // still connected: the next session presents the PIN again, once
  CHECK(token->pinRefused().empty());
  for (int i = 0; i < 3; ++i) CHECK_THROWS_CODE(g.key->sign(ecdsa(), false, std::string("m")), ErrorCode::KeyUnavailable);
  CHECK(logins() == 2);
  setenv("EKMS_FAULT_PLAN", "", 1);
}

TEST(a_session_lost_once_is_replaced_and_the_operation_retried) {
  auto token = open("C_SignInit@1=CKR_SESSION_HANDLE_INVALID");
  GeneratedTokenKey g = generateTokenKey(token, identity(1), "SIGN_VERIFY", "faults");
  Bytes sig = g.key->sign(ecdsa(), false, std::string("m"));
  g.key->verify(ecdsa(), false, std::string("m"), sig);
  CHECK(faultLog().size() == 1);
  destroyTokenKey(token, g.tokenRef);
}

TEST(a_session_lost_twice_is_key_unavailable_after_one_retry) {
  auto token = open("C_SignInit=CKR_SESSION_HANDLE_INVALID");
  GeneratedTokenKey g = generateTokenKey(token, identity(2), "SIGN_VERIFY", "faults");
  try {
    g.key->sign(ecdsa(), false, std::string("m"));
    check::fail(__FILE__, __LINE__, "sign succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::KeyUnavailable);
    CHECK(contains(e.what(), "CKR_SESSION_HANDLE_INVALID"));
  }
  CHECK(faultLog().size() == 2);  // the first attempt and exactly one retry
  destroyTokenKey(token, g.tokenRef);
}

TEST(a_removed_device_is_key_unavailable) {
  auto token = open("C_SignInit@2+=CKR_DEVICE_REMOVED,C_OpenSession@2+=CKR_TOKEN_NOT_PRESENT");
  GeneratedTokenKey g = generateTokenKey(token, identity(3), "SIGN_VERIFY", "faults");
  g.key->sign(ecdsa(), false, std::string("works once"));
  CHECK_THROWS_CODE(g.key->sign(ecdsa(), false, std::string("then the device is gone")), ErrorCode::KeyUnavailable);
  CHECK(faultLog().size() >= 2);
  setenv("EKMS_FAULT_PLAN", "", 1);
}

TEST(a_stale_object_handle_is_looked_up_again) {
  auto token = open("C_SignInit@2=CKR_KEY_HANDLE_INVALID");
  GeneratedTokenKey g = generateTokenKey(token, identity(4), "SIGN_VERIFY", "faults");
  g.key->sign(ecdsa(), false, std::string("one"));
  Bytes sig = g.key->sign(ecdsa(), false, std::string("two"));
  g.key->verify(ecdsa(), false, std::string("two"), sig);
  CHECK(faultLog().size() == 1);
  destroyTokenKey(token, g.tokenRef);
}

// A store and a copy restored from its backup may each have an object under one CKA_ID. A key
// uses its own store's; a call that fails because its object was destroyed while it ran
// (SoftHSM2 then says CKR_GENERAL_ERROR, played here by the fault module) is retried with the
// object left, as a stale handle is.
TEST(a_call_on_an_object_destroyed_meanwhile_is_retried_with_the_object_left) {
  auto token = open("C_SignInit@2=CKR_GENERAL_ERROR");
  GeneratedTokenKey original = generateTokenKey(token, identity(20), "SIGN_VERIFY", "faults-original");
  GeneratedTokenKey copy = generateTokenKey(token, identity(21), "SIGN_VERIFY", "faults-copy");
  CHECK(commitImportedObject(token, copy.tokenRef, original.tokenRef, {"faults-copy"}));
  auto copysKey = loadTokenKey(token, identity(20), original.tokenRef, original.publicKey, {"faults-copy"});
  copy.key->verify(ecdsa(), false, std::string("one"), copysKey->sign(ecdsa(), false, std::string("one")));  // its own object
  CHECK(destroyOwnedTokenKey(token, original.tokenRef, {"faults-copy"}).destroyed == 2);
  Bytes sig = copysKey->sign(ecdsa(), false, std::string("two"));  // C_SignInit #2 fails: retried
  original.key->verify(ecdsa(), false, std::string("two"), sig);
  CHECK(faultLog().size() == 1);
  destroyTokenKey(token, original.tokenRef);
}

// Which store made an object is read from its label: a read that fails once is made again, and
// a lost session is replaced, as for any call; neither makes the object count as absent.
TEST(a_label_read_that_fails_in_a_commit_is_made_again) {
  auto token = open("C_GetAttributeValue@1=CKR_GENERAL_ERROR,C_GetAttributeValue@2=CKR_SESSION_HANDLE_INVALID");
  KeyIdentity id = identity(22, "SYMMETRIC_DEFAULT");
  GeneratedTokenKey g = generateTokenKey(token, id, "ENCRYPT_DECRYPT", "faults-commit");  // no attribute read
  const std::string renamed = id.keyId + "/renamed";
  CHECK(commitImportedObject(token, g.tokenRef, renamed, {"faults-commit"}));
  CHECK(faultLog().size() == 2);
  CHECK(destroyTokenKey(token, renamed) == 1);
}

// Of two objects under one CKA_ID, a key prefers its own store's by reading their labels. That
// preference never waits on the caller's thread (the pool reruns the call), and labels that cannot
// be read leave the first object found rather than failing the call.
TEST(choosing_between_two_objects_never_waits_on_the_callers_thread_nor_fails_the_call) {
  // AES key generation reads no attribute; the commit reads two labels (two calls each); every
  // later read fails.
  auto token = open("C_GetAttributeValue@5+=CKR_GENERAL_ERROR");
  KeyIdentity id = identity(23, "SYMMETRIC_DEFAULT");
  GeneratedTokenKey a = generateTokenKey(token, id, "ENCRYPT_DECRYPT", "faults-a");
  GeneratedTokenKey b = generateTokenKey(token, identity(24, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-b");
  CHECK(commitImportedObject(token, b.tokenRef, a.tokenRef, {"faults-b"}));
  auto key = loadTokenKey(token, id, a.tokenRef, {}, {"faults-b"});
  const AlgorithmInfo& sym = algorithm("SYMMETRIC_DEFAULT");
  bool wouldBlock = false;
  try {
    CallersThread here;
    key->encrypt(sym, std::string("m"), {});
  } catch (const WouldBlock&) {
    wouldBlock = true;
  }
  CHECK(wouldBlock);
  SecretBytes back = key->decrypt(sym, key->encrypt(sym, std::string("m"), {}), {});
  CHECK(std::string(back.begin(), back.end()) == "m");
  setenv("EKMS_FAULT_PLAN", "", 1);
  destroyTokenKey(token, a.tokenRef);
}

// Listing a store's objects skips one destroyed meanwhile (tested on SoftHSM2 in test_pkcs11);
// an object that stays is read again, so one failed read passes and a lasting one is reported.
TEST(a_listed_object_that_cannot_be_read_is_read_again_then_reported) {
  {
    auto token = open("C_GetAttributeValue@1=CKR_GENERAL_ERROR");
    GeneratedTokenKey g = generateTokenKey(token, identity(6, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-list");
    std::vector<std::string> refs = listTokenRefs(token, "faults-list");
    CHECK(refs.size() == 1 && refs[0] == g.tokenRef);
    CHECK(faultLog().size() == 1);
    destroyTokenKey(token, g.tokenRef);
  }
  auto token = open("C_GetAttributeValue=CKR_GENERAL_ERROR");
  GeneratedTokenKey g = generateTokenKey(token, identity(7, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-list");
  try {
    listTokenRefs(token, "faults-list");
    check::fail(__FILE__, __LINE__, "the listing succeeded");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "C_GetAttributeValue failed (CKR_GENERAL_ERROR)"));
  }
  CHECK(faultLog().size() > 1);
  destroyTokenKey(token, g.tokenRef);
}

// A module that answers what no module may (more objects than there was room for, an attribute
// of unavailable length with CKR_OK) is an error, never a read past a buffer or a huge
// allocation (found by fuzzing the token layer against a hostile module).
TEST(a_module_that_overstates_its_answer_is_an_error) {
  {
    auto token = open("C_FindObjects=LIE");
    try {
      listTokenRefs(token, "faults-lie");
      check::fail(__FILE__, __LINE__, "the listing succeeded");
    } catch (const Error& e) {
      CHECK(contains(e.what(), "C_FindObjects reported more objects than it was given room for"));
    }
  }
  {
    auto plain = open("");
    GeneratedTokenKey g = generateTokenKey(plain, identity(8, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-lie");
    g.key.reset();  // the last user goes: the next open initialises the module with the new plan
    plain.reset();
    auto token = open("C_GetAttributeValue=LIE");
    try {
      listTokenRefs(token, "faults-lie");
      check::fail(__FILE__, __LINE__, "the listing succeeded");
    } catch (const Error& e) {
      CHECK(contains(e.what(), "C_GetAttributeValue reported a length out of range"));
    }
    token.reset();
    destroyTokenKey(open(""), g.tokenRef);
  }
}

// An output length beyond the buffer given (or, asked for the length alone, one no buffer can
// hold) is an Internal error at every call that fills a buffer: never a read past our buffer, an
// answer padded with bytes the module never wrote, or a huge allocation.
template <typename F>
void refusedAsOverstated(F&& operation, const std::string& call, const char* what) {
  try {
    operation();
    fprintf(stderr, "  %s: succeeded\n", what);
    check::fail(__FILE__, __LINE__, what);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Internal) fprintf(stderr, "  %s: code %d\n", what, static_cast<int>(e.code()));
    CHECK(e.code() == ErrorCode::Internal);
    CHECK(contains(e.what(), call + " reported"));
  }
  CHECK(!faultLog().empty());  // the lie was told
}

// Keys made on a truthful module, then used through one that lies (the plan is read when the
// module is initialised, so the truthful one's last user goes first).
struct Made {
  KeyIdentity id;
  GeneratedTokenKey g;
};
Made make(int n, const std::string& spec, const std::string& usage) {
  auto plain = open("");
  Made m{identity(n, spec), {}};
  m.g = generateTokenKey(plain, m.id, usage, "faults-lie");
  m.g.key.reset();
  return m;
}

TEST(a_module_that_overstates_an_output_length_is_an_error) {
  const Made ec = make(9, "ECC_NIST_P256", "SIGN_VERIFY");
  const Made hmac = make(10, "HMAC_256", "GENERATE_VERIFY_MAC");
  const Made aes = make(11, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
  const Made ecdh = make(12, "ECC_NIST_P256", "KEY_AGREEMENT");
  const Made rsa = make(13, "RSA_2048", "ENCRYPT_DECRYPT");
  const auto load = [](const std::shared_ptr<Token>& t, const Made& m) { return loadTokenKey(t, m.id, m.g.tokenRef, m.g.publicKey); };
  const std::string message = "m";
  {
    auto token = open("C_Sign=LIE");
    refusedAsOverstated([&] { load(token, ec)->sign(ecdsa(), false, message); }, "C_Sign", "ECDSA signing");
    refusedAsOverstated([&] { load(token, hmac)->mac(algorithm("HMAC_SHA_256"), message); }, "C_Sign", "HMAC");
  }
  {
    auto token = open("C_Encrypt=LIE");
    refusedAsOverstated([&] { load(token, aes)->encrypt(algorithm("SYMMETRIC_DEFAULT"), message, {}); }, "C_Encrypt", "AES-GCM encryption");
  }
  Bytes sealed = loadTokenKey(open(""), aes.id, aes.g.tokenRef, {})->encrypt(algorithm("SYMMETRIC_DEFAULT"), message, {});
  {
    auto token = open("C_Decrypt=LIE");
    refusedAsOverstated([&] { load(token, aes)->decrypt(algorithm("SYMMETRIC_DEFAULT"), sealed, {}); }, "C_Decrypt", "AES-GCM decryption");
    // RSAES_OAEP_SHA_1 is the one OAEP SoftHSM2 decrypts itself; the others decode in our code
    // (where any wrong length is already InvalidCiphertext, as every failure there must be).
    const Bytes oaep = oaepSha1(rsa.g.publicKey, toBytes(message));
    refusedAsOverstated([&] { load(token, rsa)->decrypt(algorithm("RSAES_OAEP_SHA_1"), oaep, {}); }, "C_Decrypt", "RSA-OAEP decryption");
  }
  {
    auto token = open("C_GetAttributeValue=LIE");
    Pkey peer(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    const Bytes peerDer = der(peer.get(), false);
    refusedAsOverstated([&] { load(token, ecdh)->deriveSharedSecret(peerDer); }, "C_GetAttributeValue", "ECDH");
  }
  auto plain = open("");
  for (const Made* m : {&ec, &hmac, &aes, &ecdh, &rsa}) destroyTokenKey(plain, m->g.tokenRef);
}

// Importing material checks it with signatures made inside the token: HMAC material by its MACs
// (a fixed 64-byte buffer), EC material by two ECDSA signatures sized by a first call.
TEST(an_import_through_a_module_that_overstates_a_signature_is_an_error) {
  TokenWrappingKey hmacWrap, ecWrap;
  {
    auto plain = open("");
    hmacWrap = generateTokenWrappingKey(plain, "faults-14", "w14", "RSA_2048", "RSAES_OAEP_SHA_1", "HMAC_256", "faults-lie");
    ecWrap = generateTokenWrappingKey(plain, "faults-15", "w15", "RSA_2048", "RSA_AES_KEY_WRAP_SHA_1", "ECC_NIST_P256", "faults-lie");
  }
  const Bytes hmacMaterial(32, 0x42);
  Pkey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const Bytes aes(32, 0x5a);
  Bytes ecWrapped = oaepSha1(ecWrap.publicKey, aes);
  const Bytes wrappedPkcs8 = aesKeyWrapPad(aes, der(ec.get(), true));
  ecWrapped.insert(ecWrapped.end(), wrappedPkcs8.begin(), wrappedPkcs8.end());
  {
    auto token = open("C_Sign=LIE");
    refusedAsOverstated([&] {
      unwrapIntoToken(token, "HMAC_256", "GENERATE_VERIFY_MAC", "faults-14", "faults-lie", hmacWrap.tokenRef, "RSAES_OAEP_SHA_1",
                      "faults-14/pending", oaepSha1(hmacWrap.publicKey, hmacMaterial));
    }, "C_Sign", "HMAC import");
    refusedAsOverstated([&] {
      unwrapIntoToken(token, "ECC_NIST_P256", "SIGN_VERIFY", "faults-15", "faults-lie", ecWrap.tokenRef, "RSA_AES_KEY_WRAP_SHA_1",
                      "faults-15/pending", ecWrapped);
    }, "C_Sign", "EC import");
  }
  // Nothing imported is left behind, and the same imports through a truthful module succeed (so
  // the refusals above came from the lies, not from the material).
  auto plain = open("");
  CHECK(listTokenRefs(plain, "faults-lie").size() == 2);  // the two wrapping keys
  TokenImported h = unwrapIntoToken(plain, "HMAC_256", "GENERATE_VERIFY_MAC", "faults-14", "faults-lie", hmacWrap.tokenRef,
                                    "RSAES_OAEP_SHA_1", "faults-14/pending", oaepSha1(hmacWrap.publicKey, hmacMaterial));
  TokenImported e = unwrapIntoToken(plain, "ECC_NIST_P256", "SIGN_VERIFY", "faults-15", "faults-lie", ecWrap.tokenRef,
                                    "RSA_AES_KEY_WRAP_SHA_1", "faults-15/pending", ecWrapped);
  CHECK(!h.materialId.empty());
  CHECK(e.publicKey == der(ec.get(), false));
  for (const char* ref : {"faults-14/pending", "faults-15/pending"}) destroyTokenKey(plain, ref);
  for (const TokenWrappingKey* w : {&hmacWrap, &ecWrap}) destroyTokenKey(plain, w->tokenRef);
}

TEST(the_module_is_initialised_once_and_finalised_with_its_last_user) {
  auto first = open("");
  // Shared: the second user does not initialise again, so a plan set now is not read.
  auto second = open("C_Login=CKR_PIN_LOCKED");
  CHECK(second->connected());
  first.reset();  // not the last user: no C_Finalize under `second`
  GeneratedTokenKey g = generateTokenKey(second, identity(5), "SIGN_VERIFY", "faults");
  g.key->sign(ecdsa(), false, std::string("still initialised"));
  destroyTokenKey(second, g.tokenRef);
  g.key.reset();
  second.reset();  // the last user: C_Finalize; the next open initialises and reads the plan
  CHECK(contains(openError("C_Login=CKR_PIN_LOCKED"), "CKR_PIN_LOCKED"));
}

TEST(a_malformed_fault_plan_fails_loudly) {
  CHECK(contains(openError("C_Sign@=nonsense"), "C_Initialize failed"));
}

TEST_MAIN
