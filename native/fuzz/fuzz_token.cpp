// The PKCS#11 token layer against a hostile module. A module is trusted code that answers for a
// device: what it reports (return values, handles, counts, lengths, attribute bytes) is input,
// and a module that reports more than it was given room for, or lengths no buffer holds, must
// end in an ekms::Error, never in a read past a buffer or an unbounded allocation (the defects
// a lost harness like this one found). The fake module (fake_pkcs11.c) answers every call from
// the input's script; this harness opens a token through it and runs a plan of steps over the
// public token API: key generation and loading for every kind of key, listing, attributes,
// destruction, random bytes, every operation of a token key, and the import path.
//
// Input: [mode][8 plan bytes][script], as fake_pkcs11.h says.
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <list>
#include <map>

#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "common.hpp"
#include "ekms/pkcs11/token_import.hpp"
#include "ekms/pkcs11/token_key.hpp"
#include "fake_pkcs11.h"
#include "public_key.hpp"  // native/src/pkcs11: the public keys the fake's points make

namespace p11 = ekms::pkcs11;

// token_objects.cpp retries a call on an object another session may be destroying, 10 ms apart,
// for up to half a second; the fake's objects stay until the script says otherwise, so those
// waits would only slow fuzzing down. Sleeps on the fuzzing thread return at once; libFuzzer's
// own threads sleep for real.
namespace {
thread_local bool tNoSleep = false;
}
extern "C" int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (tNoSleep) return 0;
  return static_cast<int>(::syscall(SYS_nanosleep, req, rem));
}

namespace {

const std::string kStore = "fuzz-store";
const std::string kWrappingKeyId(64, 'b');

// The kinds of key a plan step names by its parameter: every spec family and usage.
struct Kind {
  const char* spec;
  const char* usage;
};
const Kind kKinds[16] = {
    {"SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"}, {"HMAC_224", "GENERATE_VERIFY_MAC"}, {"HMAC_256", "GENERATE_VERIFY_MAC"},
    {"HMAC_384", "GENERATE_VERIFY_MAC"},      {"HMAC_512", "GENERATE_VERIFY_MAC"}, {"ECC_NIST_P256", "SIGN_VERIFY"},
    {"ECC_NIST_P256", "KEY_AGREEMENT"},       {"ECC_NIST_P384", "SIGN_VERIFY"},    {"ECC_NIST_P521", "KEY_AGREEMENT"},
    {"ECC_SECG_P256K1", "SIGN_VERIFY"},       {"ECC_NIST_EDWARDS25519", "SIGN_VERIFY"}, {"RSA_2048", "SIGN_VERIFY"},
    {"RSA_2048", "ENCRYPT_DECRYPT"},          {"RSA_3072", "ENCRYPT_DECRYPT"},     {"RSA_4096", "SIGN_VERIFY"},
    {"ML_DSA_44", "SIGN_VERIFY"},
};
const char* const kWrappingAlgorithms[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"};
const char* const kWrappingSpecs[] = {"RSA_2048", "RSA_3072", "RSA_4096", "RSA_2048"};

ekms::KeyIdentity identityOf(const Kind& kind) { return {fuzz::kKeyId, kind.spec, fuzz::kMaterialId}; }

// What the fake answers besides the script's own bytes, and the public keys that go with it.
// Built once, deterministically (a crash input reproduces anywhere): EC points are the curves'
// generators, RSA moduli fixed odd numbers of each size.
struct Canned {
  std::list<ekms::Bytes> store;  // a list: the fake keeps pointers into it
  std::vector<FakeValue> values;
  std::map<std::string, ekms::Bytes> spki;  // key spec -> the public key of the canned value
  ekms::Bytes peerP256, peerP384;

  void add(unsigned long type, ekms::Bytes bytes) {
    store.push_back(std::move(bytes));
    values.push_back({type, store.back().data(), store.back().size()});
  }
  void addUlong(unsigned long type, CK_ULONG v) {
    add(type, ekms::Bytes(reinterpret_cast<const uint8_t*>(&v), reinterpret_cast<const uint8_t*>(&v) + sizeof v));
  }

  Canned() {
    // CKA_EC_POINT: each curve's point as DER (the first, P-256, is the default) and bare.
    const std::pair<const char*, int> curves[] = {{"ECC_NIST_P256", NID_X9_62_prime256v1},
                                                  {"ECC_NIST_P384", NID_secp384r1},
                                                  {"ECC_NIST_P521", NID_secp521r1},
                                                  {"ECC_SECG_P256K1", NID_secp256k1}};
    for (const auto& [spec, nid] : curves) {
      ekms::Bytes point = generator(nid);
      add(CKA_EC_POINT, octetString(point));
      add(CKA_EC_POINT, point);
      add(CKA_EC_PARAMS, p11::ecParamsOf(ekms::keySpec(spec)));
      spki[spec] = ekms::spkiOf(p11::ecPublicKey(ekms::keySpec(spec), point).get());
    }
    peerP256 = spki["ECC_NIST_P256"];
    peerP384 = spki["ECC_NIST_P384"];
    const ekms::Bytes ed = fuzz::fixedBytes(32, 5);
    add(CKA_EC_POINT, octetString(ed));
    add(CKA_EC_POINT, ed);
    add(CKA_EC_PARAMS, p11::ecParamsOf(ekms::keySpec("ECC_NIST_EDWARDS25519")));
    spki["ECC_NIST_EDWARDS25519"] = ekms::spkiOf(p11::ed25519PublicKey(ed).get());
    // RSA: a modulus of each size (top bit set, odd), and the exponents.
    const ekms::Bytes f4{0x01, 0x00, 0x01};
    for (const char* spec : {"RSA_2048", "RSA_3072", "RSA_4096"}) {
      ekms::Bytes n = fuzz::fixedBytes(static_cast<std::size_t>(ekms::keySpec(spec).bits / 8), 11);
      n.front() |= 0x80;
      n.back() |= 1;
      add(CKA_MODULUS, n);
      spki[spec] = ekms::spkiOf(p11::rsaPublicKey(n, f4).get());
    }
    add(CKA_PUBLIC_EXPONENT, f4);
    add(CKA_PUBLIC_EXPONENT, {0x03});
    // Ids and labels of this store's objects, and of another store's.
    const std::string ref = p11::tokenRefOf(identityOf(kKinds[5]));
    for (const std::string& s : {ref, p11::wrappingTokenRef(fuzz::kKeyId, kWrappingKeyId), ref + ".pending"})
      add(CKA_ID, ekms::Bytes(s.begin(), s.end()));
    for (const std::string& s : {p11::labelOf(kStore, fuzz::kKeyId), p11::labelOf("other", fuzz::kKeyId), std::string("ekms")})
      add(CKA_LABEL, ekms::Bytes(s.begin(), s.end()));
    for (CK_ULONG t : {CKK_EC, CKK_RSA, CKK_AES, CKK_GENERIC_SECRET}) addUlong(CKA_KEY_TYPE, t);
    for (CK_ULONG n : {32, 0, 64, 28}) addUlong(CKA_VALUE_LEN, n);
    for (std::size_t n : {32, 48, 66}) add(CKA_VALUE, fuzz::fixedBytes(n, 13));
    add(FAKE_ANY, {CK_TRUE});  // the flags (CKA_SENSITIVE ...)
    add(FAKE_ANY, {CK_FALSE});
    // Outputs: signatures and MACs of each size, an AES block and a GCM output, a plaintext, a wrap.
    for (std::size_t n : {64, 256, 96, 132, 32, 48, 28, 384, 512}) add(FAKE_SIGN_OUTPUT, fuzz::fixedBytes(n, 17));
    for (std::size_t n : {16, 48}) add(FAKE_ENCRYPT_OUTPUT, fuzz::fixedBytes(n, 19));
    for (std::size_t n : {32, 256}) add(FAKE_DECRYPT_OUTPUT, fuzz::fixedBytes(n, 23));
    add(FAKE_WRAP_OUTPUT, fuzz::fixedBytes(40, 29));
  }

  static ekms::Bytes generator(int nid) {
    EC_GROUP* group = EC_GROUP_new_by_curve_name(nid);
    ekms::Bytes out(EC_POINT_point2oct(group, EC_GROUP_get0_generator(group), POINT_CONVERSION_UNCOMPRESSED, nullptr, 0, nullptr));
    EC_POINT_point2oct(group, EC_GROUP_get0_generator(group), POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), nullptr);
    EC_GROUP_free(group);
    return out;
  }
  static ekms::Bytes octetString(const ekms::Bytes& content) {
    ekms::Bytes der{0x04};
    if (content.size() > 127) der.push_back(0x81);
    der.push_back(static_cast<uint8_t>(content.size()));
    der.insert(der.end(), content.begin(), content.end());
    return der;
  }
};

const Canned& canned() {
  static const Canned c;
  return c;
}

FakeBeginFn fakeBegin() {
  static FakeBeginFn begin = [] {
    void* dl = ::dlopen(EKMS_FAKE_PKCS11, RTLD_NOW | RTLD_LOCAL);  // the very module Token::open loads
    auto fn = dl != nullptr ? reinterpret_cast<FakeBeginFn>(::dlsym(dl, FAKE_BEGIN_SYMBOL)) : nullptr;
    if (fn == nullptr) fuzz::violated("cannot load the fake PKCS#11 module " EKMS_FAKE_PKCS11);
    return fn;
  }();
  return begin;
}

// One input's run: the token, the current key, and what earlier steps left for later ones.
struct Run {
  std::shared_ptr<p11::Token> token;
  const Kind* kind = &kKinds[0];
  std::shared_ptr<const ekms::Key> key;
  ekms::Bytes signature, ciphertext;
  std::string wrappingAlgorithm = kWrappingAlgorithms[0];

  std::string ref() const { return p11::tokenRefOf(identityOf(*kind)); }
  std::string pendingRef() const { return ref() + ".pending"; }

  void step(uint8_t op, uint8_t p) {
    const Kind& k = kKinds[p];
    switch (op) {
      case OP_GENERATE:
        kind = &k;
        key = p11::generateTokenKey(token, identityOf(k), k.usage, kStore).key;
        break;
      case OP_LOAD_WITH_DER:
      case OP_LOAD_FROM_TOKEN: {
        kind = &k;
        auto it = canned().spki.find(k.spec);
        const ekms::Bytes none;
        const ekms::Bytes& der = op == OP_LOAD_WITH_DER && it != canned().spki.end() ? it->second : none;
        key = p11::loadTokenKey(token, identityOf(k), ref(), der);
        break;
      }
      case OP_LIST:
        (void)p11::listTokenRefs(token, kStore);
        break;
      case OP_ATTRIBUTES:
        (void)p11::readTokenKeyAttributes(token, ref());
        break;
      case OP_DESTROY:
        (void)p11::destroyOwnedTokenKey(token, ref(), {kStore});
        break;
      case OP_RANDOM:
        FUZZ_CHECK(p11::tokenRandom(token, 5u * p).size() == 5u * p);
        break;
      case OP_WRAPPING_KEY:
        wrappingAlgorithm = kWrappingAlgorithms[p % 4];
        (void)p11::generateTokenWrappingKey(token, fuzz::kKeyId, kWrappingKeyId, kWrappingSpecs[p / 4], wrappingAlgorithm, k.spec, kStore);
        break;
      case OP_UNWRAP: {
        kind = &k;
        // An RSA-2048 wrap (the canned modulus's size), then AES key wrap with padding for RSA_AES_*.
        const bool aes = wrappingAlgorithm.rfind("RSA_AES", 0) == 0;
        const ekms::Bytes encrypted(aes ? 256 + 40 : 256, 0x42);
        (void)p11::unwrapIntoToken(token, k.spec, k.usage, fuzz::kKeyId, kStore,
                                   p11::wrappingTokenRef(fuzz::kKeyId, kWrappingKeyId), wrappingAlgorithm, pendingRef(), encrypted);
        break;
      }
      case OP_COMMIT:
        (void)p11::commitImportedObject(token, pendingRef(), ref(), {kStore});
        break;
      case OP_RECONNECT:
        token->disconnect();
        token->connect();
        (void)token->info();
        break;
      case OP_USE:
      default:
        use(p);
    }
  }

  // One operation of the current key; p >= 8 takes the other algorithm (or peer) of its kind.
  void use(uint8_t p) {
    if (!key) return;
    const ekms::KeySpecInfo& spec = ekms::keySpec(kind->spec);
    const bool alt = p >= 8;
    const std::string message = "fuzz the token layer";
    const ekms::EncryptionContext context{{"purpose", "fuzz"}};
    switch (p % 8) {
      case 0:
      case 1:
      case 2: {  // Sign: the message, a digest of it, or with the other algorithm
        const ekms::AlgorithmInfo& alg = signing(spec.family, p % 8 == 2 ? !alt : alt);
        const bool isDigest = p % 8 == 1;
        const ekms::Bytes digest(alg.digestLen != 0 ? alg.digestLen : 32, 0x33);
        signature = isDigest ? key->sign(alg, true, digest) : key->sign(alg, false, message);
        break;
      }
      case 3:
        key->verify(signing(spec.family, alt), false, message, signature);
        break;
      case 4:
        ciphertext = key->encrypt(encryption(spec.family, alt), message, context);
        break;
      case 5: {
        const ekms::Bytes some(256, 0x01);
        (void)key->decrypt(encryption(spec.family, alt), ciphertext.empty() ? some : ciphertext, context);
        break;
      }
      case 6: {
        const ekms::AlgorithmInfo& alg = ekms::algorithm(spec.family == ekms::KeyFamily::Hmac ? "HMAC_SHA_" + std::to_string(spec.bits) : "HMAC_SHA_256");
        if (alt) ekms::verifyMac(*key, alg, message, signature);
        else signature = key->mac(alg, message);
        break;
      }
      default:
        (void)key->deriveSharedSecret(alt ? canned().peerP384 : canned().peerP256);
    }
  }

  static const ekms::AlgorithmInfo& signing(ekms::KeyFamily family, bool alt) {
    switch (family) {
      case ekms::KeyFamily::Rsa: return ekms::algorithm(alt ? "RSASSA_PKCS1_V1_5_SHA_256" : "RSASSA_PSS_SHA_256");
      case ekms::KeyFamily::Ed25519: return ekms::algorithm(alt ? "ED25519_PH_SHA_512" : "ED25519_SHA_512");
      default: return ekms::algorithm(alt ? "ECDSA_SHA_384" : "ECDSA_SHA_256");
    }
  }
  static const ekms::AlgorithmInfo& encryption(ekms::KeyFamily family, bool alt) {
    if (family == ekms::KeyFamily::Rsa) return ekms::algorithm(alt ? "RSAES_OAEP_SHA_256" : "RSAES_OAEP_SHA_1");
    return ekms::algorithm("SYMMETRIC_DEFAULT");
  }
};

// EKMS_FUZZ_TOKEN_MODE=strict (or lax) runs the inputs of that mode only, the others returning
// at once: a run of one mode. Its findings reproduce without it (the mode is the input's).
// How many inputs of each mode ran is printed at exit.
int onlyMode() {
  static const int only = [] {
    const char* m = std::getenv("EKMS_FUZZ_TOKEN_MODE");
    return m == nullptr ? -1 : std::strcmp(m, "lax") == 0 ? 1 : 0;
  }();
  return only;
}
std::size_t ran[2];
void printRan() { std::fprintf(stderr, "fuzz_token: %zu strict and %zu lax inputs run\n", ran[0], ran[1]); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  if (onlyMode() >= 0 && (mode & 1) != onlyMode()) return 0;
  static const int registered = std::atexit(printRan);
  (void)registered;
  ++ran[mode & 1];
  uint8_t plan[FAKE_PLAN_STEPS] = {};
  const std::size_t planned = std::min<std::size_t>(size - 1, FAKE_PLAN_STEPS);
  std::memcpy(plan, data + 1, planned);
  const uint8_t* script = data + 1 + planned;
  const std::size_t scriptSize = size - 1 - planned;

  const Canned& values = canned();
  fakeBegin()(mode & 1, script, scriptSize, values.values.data(), values.values.size());
  tNoSleep = true;
  {
    Run run;
    fuzz::tolerate([&] {
      p11::TokenOptions options;
      options.modulePath = EKMS_FAKE_PKCS11;
      options.label = FAKE_TOKEN_LABEL;
      options.pin = ekms::SecretBytes{'1', '2', '3', '4'};
      options.sessions = (mode & 2) != 0 ? 2 : 1;
      run.token = p11::Token::open(std::move(options));
    });
    // Each step may fail (an ekms::Error); the next one runs all the same, as a store's next
    // request would on the same token.
    for (uint8_t b : plan)
      if (run.token) fuzz::tolerate([&] { run.step(b & 15, b >> 4); });
  }  // the token closes its sessions and finalises the module here
  tNoSleep = false;
  return 0;
}
