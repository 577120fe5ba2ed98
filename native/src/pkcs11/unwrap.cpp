// Key material unwrapped inside a PKCS#11 token (token_import.hpp).
#include <cstring>
#include <vector>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ekms/ciphertext.hpp"
#include "ekms/import.hpp"
#include "ekms/pkcs11/ec_recover.hpp"
#include "ekms/pkcs11/token_import.hpp"
#include "internal.hpp"

#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP (0x210bUL)  // PKCS#11 3.0; p11-kit's header may predate it
#endif

namespace ekms::pkcs11 {

namespace {

// RsaAesKeyWrapParams (PKCS#11 2.40), which p11-kit's header does not have.
struct RsaAesKeyWrapParams {
  CK_ULONG aesKeyBits;
  CK_RSA_PKCS_OAEP_PARAMS* oaepParams;
};

Bytes idBytes(const std::string& ref) { return Bytes(ref.begin(), ref.end()); }

void destroyById(Session& s, const std::string& ref) {
  const Bytes id = idBytes(ref);
  CK_ATTRIBUTE tmpl[] = {{CKA_ID, const_cast<uint8_t*>(id.data()), static_cast<CK_ULONG>(id.size())}};
  for (CK_OBJECT_HANDLE h : Token::findAll(s, tmpl, 1)) s.fn()->C_DestroyObject(s.handle(), h);
}

// The mechanisms one wrapping algorithm uses on this token.
struct Unwrapping {
  std::string algorithm;
  CK_MECHANISM_TYPE hash = CKM_SHA_1;
  CK_RSA_PKCS_MGF_TYPE mgf = CKG_MGF1_SHA1;
  const char* hashName = "CKM_SHA_1";
  bool aes = false;           // RSA_AES_KEY_WRAP_*
  bool rsaAesKeyWrap = false;  // one step, CKM_RSA_AES_KEY_WRAP
  CK_MECHANISM_TYPE kwp = 0;   // AES key wrap with padding (RFC 5649), 0 when the token has none
};

Unwrapping unwrappingFor(const Token& token, const std::string& algorithm) {
  const WrappingAlgorithmInfo& alg = wrappingAlgorithm(algorithm);
  Unwrapping u;
  u.algorithm = algorithm;
  if (std::strcmp(alg.oaepDigest, "SHA1") != 0) {
    u.hash = CKM_SHA256;
    u.mgf = CKG_MGF1_SHA256;
    u.hashName = "CKM_SHA256";
  }
  u.aes = alg.aesKeyWrap;
  if (token.has(CKM_AES_KEY_WRAP_KWP)) u.kwp = CKM_AES_KEY_WRAP_KWP;
  else if (token.has(CKM_AES_KEY_WRAP_PAD)) u.kwp = CKM_AES_KEY_WRAP_PAD;
  const std::string what = "importing key material wrapped with " + algorithm + " into a PKCS#11 token";
  if (!u.aes) {
    token.require(CKM_RSA_PKCS_OAEP, what.c_str());
    return u;
  }
  if (token.has(CKM_RSA_AES_KEY_WRAP)) {
    u.rsaAesKeyWrap = true;
    return u;
  }
  // Two steps inside the token instead of CKM_RSA_AES_KEY_WRAP.
  const std::string twoSteps = what + " (which the token does not offer as CKM_RSA_AES_KEY_WRAP, so it is done in two steps)";
  token.require(CKM_RSA_PKCS_OAEP, twoSteps.c_str());
  if (u.kwp == 0)
    throw Error(ErrorCode::Unsupported, twoSteps + " needs AES key wrap with padding (RFC 5649: CKM_AES_KEY_WRAP_KWP or CKM_AES_KEY_WRAP_PAD), which token '" +
                                            token.label() + "' does not offer");
  return u;
}

// OAEP parameters that the token refuses mean it cannot do this algorithm at all.
bool paramsRefused(CK_RV rv) { return rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID || rv == CKR_MECHANISM_INVALID; }

[[noreturn]] void oaepRefused(const Token& token, const Unwrapping& u, CK_RV rv) {
  throw Error(ErrorCode::Unsupported, "importing key material wrapped with " + u.algorithm + " needs RSA-OAEP with " +
                                          (u.hash == CKM_SHA_1 ? "SHA-1" : "SHA-256") + " (CKM_RSA_PKCS_OAEP with hashAlg " +
                                          u.hashName + "), which PKCS#11 token '" + token.label() + "' refuses (" + rvName(rv) +
                                          "); use a wrapping algorithm with SHA-1 (RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_1) for this custom key store");
}

[[noreturn]] void undecryptable() {
  throw Error(ErrorCode::InvalidCiphertext,
              "the encrypted key material does not decrypt with the wrapping key and wrapping algorithm of its import token");
}

// Holds the unwrapping machinery of one import inside one session.
class Unwrapper {
 public:
  Unwrapper(Session& s, const Token& token, const Unwrapping& u, CK_OBJECT_HANDLE wrappingKey, std::size_t k, ByteView encrypted)
      : s_(s), token_(token), u_(u), wrappingKey_(wrappingKey), k_(k), encrypted_(encrypted) {
    oaep_ = {u.hash, u.mgf, CKZ_DATA_SPECIFIED, nullptr, 0};
    rsaAes_ = {256, &oaep_};
  }
  ~Unwrapper() {
    // A session that keeps the ephemeral AES key must not be used again: closing it destroys it.
    if (aesKey_ != CK_INVALID_HANDLE && s_.fn()->C_DestroyObject(s_.handle(), aesKey_) != CKR_OK) s_.fail();
  }
  Unwrapper(const Unwrapper&) = delete;
  Unwrapper& operator=(const Unwrapper&) = delete;

  // RSA_AES_KEY_WRAP_*: the length of the material's AES key wrap with padding (after the k bytes
  // of the RSA-OAEP-wrapped AES key), which unwrap() has checked is a multiple of 8 and at least
  // 16. 0 for RSAES_OAEP_*.
  std::size_t aesWrappedLength() const { return u_.aes && encrypted_.size >= k_ + 16 ? encrypted_.size - k_ : 0; }

  const Token& token() const { return token_; }

  // C_UnwrapKey of the material into an object made from tmpl; the CK_RV of the step that made
  // the material's object (the steps before it throw).
  CK_RV unwrap(AttributeTemplate& tmpl, CK_OBJECT_HANDLE& out) {
    out = CK_INVALID_HANDLE;
    if (!u_.aes) {
      if (encrypted_.size != k_) undecryptable();
      CK_MECHANISM m{CKM_RSA_PKCS_OAEP, &oaep_, sizeof oaep_};
      CK_RV rv = s_.fn()->C_UnwrapKey(s_.handle(), &m, wrappingKey_, const_cast<uint8_t*>(encrypted_.data),
                                      static_cast<CK_ULONG>(encrypted_.size), tmpl.data(), tmpl.size(), &out);
      if (paramsRefused(rv)) oaepRefused(token_, u_, rv);
      return rv;
    }
    // The OAEP-wrapped AES key, then at least one 16-byte AES-KWP block.
    if (encrypted_.size < k_ + 16 || (encrypted_.size - k_) % 8 != 0) undecryptable();
    if (u_.rsaAesKeyWrap) {
      CK_MECHANISM m{CKM_RSA_AES_KEY_WRAP, &rsaAes_, sizeof rsaAes_};
      CK_RV rv = s_.fn()->C_UnwrapKey(s_.handle(), &m, wrappingKey_, const_cast<uint8_t*>(encrypted_.data),
                                      static_cast<CK_ULONG>(encrypted_.size), tmpl.data(), tmpl.size(), &out);
      if (paramsRefused(rv)) oaepRefused(token_, u_, rv);
      return rv;
    }
    if (aesKey_ == CK_INVALID_HANDLE) unwrapAesKey();
    CK_MECHANISM m{u_.kwp, nullptr, 0};
    return s_.fn()->C_UnwrapKey(s_.handle(), &m, aesKey_, const_cast<uint8_t*>(encrypted_.data + k_),
                                static_cast<CK_ULONG>(encrypted_.size - k_), tmpl.data(), tmpl.size(), &out);
  }

 private:
  // Step one of two: the ephemeral AES key, as a session object that can only unwrap.
  void unwrapAesKey() {
    AttributeTemplate t;
    t.ulong(CKA_CLASS, CKO_SECRET_KEY).ulong(CKA_KEY_TYPE, CKK_AES);
    t.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
    t.flag(CKA_UNWRAP, true).flag(CKA_WRAP, false).flag(CKA_ENCRYPT, false).flag(CKA_DECRYPT, false);
    CK_MECHANISM m{CKM_RSA_PKCS_OAEP, &oaep_, sizeof oaep_};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv = s_.fn()->C_UnwrapKey(s_.handle(), &m, wrappingKey_, const_cast<uint8_t*>(encrypted_.data), static_cast<CK_ULONG>(k_),
                                    t.data(), t.size(), &h);
    if (paramsRefused(rv)) oaepRefused(token_, u_, rv);
    if (isSessionLost(rv) || isHandleStale(rv)) throw RvError("C_UnwrapKey", rv);
    if (rv != CKR_OK) undecryptable();
    aesKey_ = h;
  }

  Session& s_;
  const Token& token_;
  const Unwrapping& u_;
  CK_OBJECT_HANDLE wrappingKey_;
  std::size_t k_;
  ByteView encrypted_;
  CK_RSA_PKCS_OAEP_PARAMS oaep_{};
  RsaAesKeyWrapParams rsaAes_{};
  CK_OBJECT_HANDLE aesKey_ = CK_INVALID_HANDLE;
};

CK_KEY_TYPE keyTypeOf(const KeySpecInfo& spec) {
  switch (spec.family) {
    case KeyFamily::Aes: return CKK_AES;
    case KeyFamily::Hmac: return CKK_GENERIC_SECRET;
    case KeyFamily::Rsa: return CKK_RSA;
    case KeyFamily::Ec: return CKK_EC;
    default: throw Error(ErrorCode::Unsupported, std::string("key spec ") + spec.name + " cannot take imported material on a PKCS#11 token");
  }
}

bool isSecret(const KeySpecInfo& spec) { return spec.family == KeyFamily::Aes || spec.family == KeyFamily::Hmac; }

// The imported key's object: the protections and usage of generated token keys (keygen.cpp).
AttributeTemplate targetTemplate(const KeySpecInfo& spec, const Usage& u, const std::string& ref, const std::string& label) {
  AttributeTemplate t;
  t.ulong(CKA_CLASS, isSecret(spec) ? CKO_SECRET_KEY : CKO_PRIVATE_KEY).ulong(CKA_KEY_TYPE, keyTypeOf(spec));
  t.flag(CKA_TOKEN, true).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
  t.bytes(CKA_ID, idBytes(ref)).bytes(CKA_LABEL, ByteView(reinterpret_cast<const uint8_t*>(label.data()), label.size()));
  if (isSecret(spec)) secretKeyCapabilities(t, spec.family);
  else privateKeyCapabilities(t, spec.family, u);
  return t;
}

// A session copy of a private key that can only sign: it proves the key's halves belong together
// and gives an EC key's public point, whatever the key's own usage. Destroyed right after.
AttributeTemplate probeTemplate(const KeySpecInfo& spec) {
  AttributeTemplate t;
  t.ulong(CKA_CLASS, CKO_PRIVATE_KEY).ulong(CKA_KEY_TYPE, keyTypeOf(spec));
  t.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
  t.flag(CKA_SIGN, true).flag(CKA_DECRYPT, false).flag(CKA_DERIVE, false);
  return t;
}

// A session generic secret that takes any bytes: tells "does not decrypt" from "does not fit".
AttributeTemplate anySecretTemplate() {
  AttributeTemplate t;
  t.ulong(CKA_CLASS, CKO_SECRET_KEY).ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET);
  t.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
  t.flag(CKA_SIGN, false).flag(CKA_ENCRYPT, false).flag(CKA_DECRYPT, false);
  return t;
}

CK_ULONG valueLen(Session& s, CK_OBJECT_HANDLE h) {
  CK_ULONG len = 0;
  CK_ATTRIBUTE a{CKA_VALUE_LEN, &len, sizeof len};
  check(s.fn()->C_GetAttributeValue(s.handle(), h, &a, 1), "C_GetAttributeValue");
  return len;
}

// An RSA-16384 signature: more is a broken module's size, not one to allocate for.
constexpr CK_ULONG kMaxSignatureBytes = 2048;

Bytes tokenSign(Session& s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mech, ByteView data) {
  CK_MECHANISM m{mech, nullptr, 0};
  check(s.fn()->C_SignInit(s.handle(), &m, key), "C_SignInit");
  CK_ULONG len = 0;
  CK_RV rv = s.fn()->C_Sign(s.handle(), const_cast<uint8_t*>(data.data), static_cast<CK_ULONG>(data.size), nullptr, &len);
  if (rv != CKR_OK || len > kMaxSignatureBytes) s.fail();  // the operation may still be active
  check(rv, "C_Sign");
  Bytes out(announcedLength(len, kMaxSignatureBytes, "C_Sign"));
  check(s.fn()->C_Sign(s.handle(), const_cast<uint8_t*>(data.data), static_cast<CK_ULONG>(data.size), out.data(), &len), "C_Sign");
  out.resize(filledLength(len, out.size(), "C_Sign"));
  return out;
}

std::string hex(ByteView v) { return toHex(v); }

// AES material: AES_K(0^128), computed by the token.
std::string aesMaterialIdOnToken(Session& s, CK_OBJECT_HANDLE key, const std::string& keyId) {
  CK_MECHANISM m{CKM_AES_ECB, nullptr, 0};
  check(s.fn()->C_EncryptInit(s.handle(), &m, key), "C_EncryptInit");
  uint8_t zero[16] = {0};
  uint8_t kcv[16] = {0};
  CK_ULONG len = sizeof kcv;
  CK_RV rv = s.fn()->C_Encrypt(s.handle(), zero, sizeof zero, kcv, &len);
  if (rv != CKR_OK) s.fail();
  check(rv, "C_Encrypt");
  if (len != sizeof kcv) throw Error(ErrorCode::Internal, "the token's AES-ECB returned " + std::to_string(len) + " bytes for one block");
  return materialIdFromCheckValue(keyId, ByteView(kcv, sizeof kcv));
}

int curveNidOf(const KeySpecInfo& spec) {
  int nid = EC_curve_nist2nid(spec.curve);
  return nid != NID_undef ? nid : OBJ_sn2nid(spec.curve);
}

void verifyDigest(EVP_PKEY* pkey, bool rsaPkcs1, ByteView digest, ByteView signature) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1;
  if (ok && rsaPkcs1)
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 && EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1;
  ok = ok && EVP_PKEY_verify(ctx.get(), signature.data, signature.size, digest.data, digest.size) == 1;
  clearOpensslErrors();
  if (!ok) throw Error(ErrorCode::InvalidInput, "the imported private key does not match the public key it implies");
}

[[noreturn]] void mismatch(const std::string& what) { throw Error(ErrorCode::InvalidInput, what); }

// The public key of an imported private key, checked against the token's own signature.
Pkey publicKeyOfImported(Session& s, const KeySpecInfo& spec, CK_OBJECT_HANDLE target, CK_OBJECT_HANDLE probe) {
  uint8_t d1[32], d2[32];
  if (RAND_bytes(d1, sizeof d1) != 1 || RAND_bytes(d2, sizeof d2) != 1) throwOpenssl("RAND_bytes");
  if (spec.family == KeyFamily::Rsa) {
    Pkey pub = rsaPublicKey(Token::readAttribute(s, target, CKA_MODULUS), Token::readAttribute(s, target, CKA_PUBLIC_EXPONENT));
    const int bits = EVP_PKEY_get_bits(pub.get());
    if (bits != spec.bits)
      mismatch("key material for " + std::string(spec.name) + " must be a " + std::to_string(spec.bits) + "-bit RSA key, not " +
               std::to_string(bits) + "-bit");
    // CKM_RSA_PKCS signs a DigestInfo as given: SHA-256's prefix, then the digest.
    static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    Bytes info(prefix, prefix + sizeof prefix);
    info.insert(info.end(), d1, d1 + sizeof d1);
    Bytes sig = tokenSign(s, probe, CKM_RSA_PKCS, info);
    verifyDigest(pub.get(), true, ByteView(d1, sizeof d1), sig);
    return pub;
  }
  // EC: the curve the PKCS#8 named, then the point from two signatures.
  Bytes params = Token::readAttribute(s, target, CKA_EC_PARAMS);
  if (params != ecParamsOf(spec)) mismatch("key material for " + std::string(spec.name) + " must be a key on curve " + spec.curve);
  Bytes sig1 = tokenSign(s, probe, CKM_ECDSA, ByteView(d1, sizeof d1));
  Bytes sig2 = tokenSign(s, probe, CKM_ECDSA, ByteView(d2, sizeof d2));
  Bytes point = recoverEcdsaPublicPoint(curveNidOf(spec), ByteView(d1, sizeof d1), sig1, ByteView(d2, sizeof d2), sig2);
  Pkey pub = ecPublicKey(spec, point);
  verifyDigest(pub.get(), false, ByteView(d1, sizeof d1), ecdsaRawToDer(sig1));
  return pub;
}


CK_MECHANISM_TYPE hmacMechanismOf(const KeySpecInfo& spec) {
  switch (spec.bits) {
    case 224: return CKM_SHA224_HMAC;
    case 256: return CKM_SHA256_HMAC;
    case 384: return CKM_SHA384_HMAC;
    default: return CKM_SHA512_HMAC;
  }
}

// The length of an unwrapped secret, rounded up to a multiple of 8. A token need not say how
// long an unwrapped secret is (SoftHSM2 2.6.1 leaves CKA_VALUE_LEN at 0). Material that came
// wrapped with AES key wrap with padding (RSA_AES_KEY_WRAP_*) says it itself: the token checked
// that wrap (RFC 5649's length and padding) when it unwrapped it, and its output is 8 + that
// many bytes. Otherwise (RSAES_OAEP_*: HMAC material, and AES material aesIs32Bytes cannot
// check) the token wraps a session copy the same way under a session AES key it makes for the
// purpose; only the size is asked for (C_WrapKey without an output buffer), so nothing wrapped
// exists outside the token either. Both objects go at once, or the session does (ObjectGuard),
// taking its objects with it. That copy is extractable (C_WrapKey needs it), which is why the
// wrapping keys of such imports alone get no CKA_UNWRAP_TEMPLATE (needsWrappableCopy).
std::size_t paddedSecretLength(Session& s, Unwrapper& unwrapper, CK_MECHANISM_TYPE kwp) {
  if (std::size_t wrapped = unwrapper.aesWrappedLength(); wrapped != 0) return wrapped - 8;
  if (kwp == 0)
    throw Error(ErrorCode::Unsupported, "checking the length of imported secret key material on a PKCS#11 token that does not report it "
                                        "(CKA_VALUE_LEN) needs AES key wrap with padding (CKM_AES_KEY_WRAP_KWP or CKM_AES_KEY_WRAP_PAD)");
  AttributeTemplate kek;
  kek.ulong(CKA_CLASS, CKO_SECRET_KEY).ulong(CKA_KEY_TYPE, CKK_AES).ulong(CKA_VALUE_LEN, 32);
  kek.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
  kek.flag(CKA_WRAP, true).flag(CKA_UNWRAP, false).flag(CKA_ENCRYPT, false).flag(CKA_DECRYPT, false);
  CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE hKek = CK_INVALID_HANDLE;
  check(s.fn()->C_GenerateKey(s.handle(), &gen, kek.data(), kek.size(), &hKek), "C_GenerateKey");
  ObjectGuard guardKek(s, hKek);
  AttributeTemplate copy;
  copy.ulong(CKA_CLASS, CKO_SECRET_KEY).ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET);
  copy.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, true);
  copy.flag(CKA_SIGN, false).flag(CKA_ENCRYPT, false).flag(CKA_DECRYPT, false);
  CK_OBJECT_HANDLE hCopy = CK_INVALID_HANDLE;
  check(unwrapper.unwrap(copy, hCopy), "C_UnwrapKey");
  ObjectGuard guardCopy(s, hCopy);
  CK_MECHANISM m{kwp, nullptr, 0};
  CK_ULONG len = 0;
  const CK_RV rv = s.fn()->C_WrapKey(s.handle(), &m, hKek, hCopy, nullptr, &len);
  // Empty material: a secret of no bytes, which AES key wrap has nothing to wrap of (SoftHSM2:
  // CKR_KEY_NOT_WRAPPABLE); the length checks refuse it as any other wrong length.
  if (rv == CKR_KEY_NOT_WRAPPABLE || rv == CKR_KEY_SIZE_RANGE) return 0;
  check(rv, "C_WrapKey");
  if (len < 16 || len % 8 != 0) throw Error(ErrorCode::Internal, "the token's AES key wrap with padding gave " + std::to_string(len) + " bytes");
  return len - 8;
}

// Whether a MAC mechanism takes the key (CKR_KEY_SIZE_RANGE: shorter than its minimum).
bool macTakes(Session& s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mech, Bytes* mac, ByteView data) {
  CK_MECHANISM m{mech, nullptr, 0};
  CK_RV rv = s.fn()->C_SignInit(s.handle(), &m, key);
  if (rv == CKR_KEY_SIZE_RANGE) return false;
  check(rv, "C_SignInit");
  uint8_t out[64];
  CK_ULONG len = sizeof out;
  rv = s.fn()->C_Sign(s.handle(), const_cast<uint8_t*>(data.data), static_cast<CK_ULONG>(data.size), out, &len);
  if (rv != CKR_OK) s.fail();
  check(rv, "C_Sign");
  const std::size_t n = filledLength(len, sizeof out, "C_Sign");
  if (mac != nullptr) mac->assign(out, out + n);
  return true;
}

// AES material wrapped with RSAES_OAEP_* on a token that does not say how long it is: AES takes
// keys of 16, 24 and 32 bytes only (aesMaterialIdOnToken fails on others), and HMAC-SHA-256 none
// shorter than 32 (CKR_KEY_SIZE_RANGE; SoftHSM2's minimum, as RFC 4868 advises), which leaves 32.
// The HMAC's key is a session copy that can only sign, sensitive and not extractable as the
// wrapping key's unwrap template requires.
bool aesIs32Bytes(Session& s, Unwrapper& unwrapper) {
  AttributeTemplate t;
  t.ulong(CKA_CLASS, CKO_SECRET_KEY).ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET);
  t.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
  t.flag(CKA_SIGN, true).flag(CKA_VERIFY, false).flag(CKA_ENCRYPT, false).flag(CKA_DECRYPT, false);
  CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
  check(unwrapper.unwrap(t, copy), "C_UnwrapKey");
  ObjectGuard guard(s, copy);
  static const uint8_t probe[] = {'l', 'e', 'n', 'g', 't', 'h'};
  return macTakes(s, copy, CKM_SHA256_HMAC, nullptr, ByteView(probe, sizeof probe));
}

// Whether the token's HMAC-SHA-256 refuses keys under 32 bytes, which aesIs32Bytes relies on:
// its smallest key (CK_MECHANISM_INFO.ulMinKeySize) is 32, in bytes as SoftHSM2 gives it, or 256
// in bits. A token that does not say so is not relied upon.
bool hmacSha256RefusesShortKeys(Session& s, const Token& token) {
  if (!token.has(CKM_SHA256_HMAC)) return false;
  CK_SESSION_INFO session{};
  CK_MECHANISM_INFO info{};
  if (s.fn()->C_GetSessionInfo(s.handle(), &session) != CKR_OK || s.fn()->C_GetMechanismInfo(session.slotID, CKM_SHA256_HMAC, &info) != CKR_OK)
    return false;
  return info.ulMinKeySize == 32 || info.ulMinKeySize == 256;
}

// Whether the length check of this material may need paddedSecretLength's extractable copy: for
// secret material wrapped with RSAES_OAEP_* on a token that does not report CKA_VALUE_LEN (not
// known before the import), HMAC material always and AES material unless aesIs32Bytes can tell.
bool needsWrappableCopy(Session& s, const Token& token, const KeySpecInfo& spec, const Unwrapping& u) {
  if (u.aes) return false;
  return spec.family == KeyFamily::Hmac || (spec.family == KeyFamily::Aes && !hmacSha256RefusesShortKeys(s, token));
}

// Checks the length of imported secret material inside the token and sets its material ids.
void checkSecretOnToken(Session& s, Unwrapper& unwrapper, const Unwrapping& u, const KeySpecInfo& spec, const std::string& keySpecName,
                        CK_OBJECT_HANDLE key, const std::string& keyId, TokenImported& out) {
  const CK_ULONG told = valueLen(s, key);
  std::size_t lower = 0, upper = 0;  // bounds of the length in bytes
  if (told != 0) {
    lower = upper = told;
  } else if (spec.family == KeyFamily::Aes && unwrapper.aesWrappedLength() == 0 && !needsWrappableCopy(s, unwrapper.token(), spec, u)) {
    std::string id;
    try {
      id = aesMaterialIdOnToken(s, key, keyId);
    } catch (const RvError& e) {
      if (isSessionLost(e.rv()) || isHandleStale(e.rv())) throw;
      mismatch("key material for SYMMETRIC_DEFAULT must be 256 bits (32 bytes) long; AES refused this material");
    }
    if (!aesIs32Bytes(s, unwrapper)) mismatch("key material for SYMMETRIC_DEFAULT must be 256 bits (32 bytes) long; this material is 16 or 24 bytes long");
    out.materialId = id;
    return;
  } else {
    upper = paddedSecretLength(s, unwrapper, u.kwp);
    lower = upper >= 7 ? upper - 7 : 0;
  }
  // Without CKA_VALUE_LEN the token tells the length to within AES-KWP's padding only: the
  // message says as much as is known, from `lo` to `hi` bytes.
  const auto notRange = [&](std::size_t lo, std::size_t hi) {
    return lo == hi ? ", not " + std::to_string(hi) + " bytes"
                    : "; this material is " + std::to_string(lo) + " to " + std::to_string(hi) + " bytes long (to within the padding of AES key wrap)";
  };
  if (spec.family == KeyFamily::Aes) {
    // 25 to 31 bytes are no AES key: AES-ECB fails on them; 32 is what is left.
    if (lower == upper) checkSecretMaterialLength(keySpecName, upper);
    if (lower > 32 || upper < 32) mismatch("key material for SYMMETRIC_DEFAULT must be 256 bits (32 bytes) long" + notRange(lower, upper));
    try {
      out.materialId = aesMaterialIdOnToken(s, key, keyId);
      return;
    } catch (const RvError& e) {
      if (isSessionLost(e.rv()) || isHandleStale(e.rv())) throw;
      // AES refused it: shorter than 32 bytes, so within the bounds, not 32 itself.
      mismatch("key material for SYMMETRIC_DEFAULT must be 256 bits (32 bytes) long" + (lower < 32 ? notRange(lower, 31) : std::string()));
    }
  }
  // HMAC: the upper bound from the padded length is exact (the limits are multiples of 8); the
  // lower one is the minimum key size of the spec's own MAC mechanism, which is AWS's minimum.
  if (lower == upper) checkSecretMaterialLength(keySpecName, upper);
  const std::size_t min = static_cast<std::size_t>(spec.bits / 8), max = spec.bits <= 256 ? 64 : 128;
  const std::string range = "key material for " + std::string(spec.name) + " must be " + std::to_string(min) + " to " + std::to_string(max) + " bytes long";
  if (upper > max || upper < min) mismatch(range + notRange(lower, upper));
  // The MAC mechanism refused it: shorter than its minimum, so within the bounds, below min.
  if (!macTakes(s, key, hmacMechanismOf(spec), nullptr, hmacMaterialIdMessage(keyId))) mismatch(range + (lower < min ? notRange(lower, min - 1) : std::string()));
  Bytes mac;
  if (macTakes(s, key, CKM_SHA256_HMAC, &mac, hmacMaterialIdMessage(keyId))) {
    out.materialId = materialIdFromCheckValue(keyId, mac);
    out.legacyMaterialId = hex(mac);
    return;
  }
  // Shorter than CKM_SHA256_HMAC takes (HMAC_224 material of 28 to 31 bytes): the id comes from
  // the spec's own MAC instead (stable for the material, but not the id a software key gets). It
  // was hashed from the start: an HMAC_224 key's MACs are never made with SHA-256.
  macTakes(s, key, hmacMechanismOf(spec), &mac, hmacMaterialIdMessage(keyId));
  out.materialId = materialIdFromCheckValue(keyId, mac);
}

}  // namespace

std::string wrappingTokenRef(const std::string& keyId, const std::string& wrappingKeyId) { return keyId + "/import-" + wrappingKeyId; }

void checkTokenImportable(const std::string& keySpecName) {
  const KeySpecInfo& spec = keySpec(keySpecName);
  if (spec.family == KeyFamily::Ed25519)
    throw Error(ErrorCode::Unsupported,
                "Ed25519 key material cannot be imported into a PKCS#11 token: a token does not give the public key of an "
                "Ed25519 private key it unwrapped (no CKA_EC_POINT), and an Ed25519 public key cannot be computed from "
                "signatures as an ECDSA key's can");
  keyTypeOf(spec);
}

TokenWrappingKey generateTokenWrappingKey(const std::shared_ptr<Token>& token, const std::string& keyId, const std::string& wrappingKeyId,
                                          const std::string& wrappingKeySpec, const std::string& algorithm, const std::string& keySpecName,
                                          const std::string& storeId) {
  const int bits = wrappingKeyBits(wrappingKeySpec);
  const Unwrapping u = unwrappingFor(*token, algorithm);
  const KeySpecInfo& spec = keySpec(keySpecName);
  token->require(CKM_RSA_PKCS_KEY_PAIR_GEN, "an import wrapping key");
  TokenWrappingKey out;
  out.tokenRef = wrappingTokenRef(keyId, wrappingKeyId);
  const std::string label = labelOf(storeId, keyId);
  const ByteView labelView(reinterpret_cast<const uint8_t*>(label.data()), label.size());
  const uint8_t f4[] = {0x01, 0x00, 0x01};
  // The public half is needed once, to be read: a session object.
  AttributeTemplate pub;
  pub.flag(CKA_TOKEN, false).flag(CKA_PRIVATE, false).ulong(CKA_MODULUS_BITS, static_cast<CK_ULONG>(bits));
  pub.bytes(CKA_PUBLIC_EXPONENT, ByteView(f4, sizeof f4)).flag(CKA_WRAP, true).flag(CKA_ENCRYPT, false).flag(CKA_VERIFY, false);
  const auto privateTemplate = [&]() {
    AttributeTemplate t;
    t.flag(CKA_TOKEN, true).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
    t.bytes(CKA_ID, idBytes(out.tokenRef)).bytes(CKA_LABEL, labelView);
    t.flag(CKA_UNWRAP, true).flag(CKA_DECRYPT, false).flag(CKA_SIGN, false).flag(CKA_SIGN_RECOVER, false).flag(CKA_DERIVE, false);
    return t;
  };
  // Guarded: the capabilities above cannot be changed (CKA_MODIFIABLE false: else CKA_DECRYPT
  // set true decrypts an EncryptedKeyMaterial outright) nor copied into an object with others
  // (CKA_COPYABLE false); the key unwraps with its algorithm's one mechanism only
  // (CKA_ALLOWED_MECHANISMS: else CKM_RSA_PKCS_OAEP unwraps an RSA_AES_KEY_WRAP material's AES key
  // into an object that unwraps the rest as it is told), and only into objects that stay in the
  // token (CKA_UNWRAP_TEMPLATE), where every unwrap of ours makes such objects (not
  // paddedSecretLength's copy: needsWrappableCopy). A token that refuses the last two gets the
  // first two alone; one that refuses those too, none.
  const CK_MECHANISM_TYPE allowed[] = {u.rsaAesKeyWrap ? CKM_RSA_AES_KEY_WRAP : CKM_RSA_PKCS_OAEP};
  AttributeTemplate unwrapsInto;
  unwrapsInto.flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);

  Pkey publicKey = token->runChangingObjects([&](Session& s) {
    destroyById(s, out.tokenRef);
    const bool sensitiveUnwrapsOnly = !needsWrappableCopy(s, *token, spec, u);
    CK_MECHANISM m{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE hPub = CK_INVALID_HANDLE, hPriv = CK_INVALID_HANDLE;
    CK_RV rv = CKR_GENERAL_ERROR;
    for (int protections = 2; protections >= 0; protections--) {
      AttributeTemplate priv = privateTemplate();
      if (protections >= 1) priv.flag(CKA_MODIFIABLE, false).flag(CKA_COPYABLE, false);
      if (protections >= 2) {
        priv.bytes(CKA_ALLOWED_MECHANISMS, ByteView(reinterpret_cast<const uint8_t*>(allowed), sizeof allowed));
        if (sensitiveUnwrapsOnly) priv.nested(CKA_UNWRAP_TEMPLATE, unwrapsInto);
      }
      rv = s.fn()->C_GenerateKeyPair(s.handle(), &m, pub.data(), pub.size(), priv.data(), priv.size(), &hPub, &hPriv);
      out.guarded = protections == 2;
      // README: what a PIN holder can do with a key made with fewer protections while it lasts.
      if (rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_VALUE_INVALID && rv != CKR_TEMPLATE_INCONSISTENT) break;
    }
    check(rv, "C_GenerateKeyPair");
    ObjectGuard guardPub(s, hPub), guardPriv(s, hPriv);
    Bytes modulus = Token::readAttribute(s, hPub, CKA_MODULUS);
    Pkey key = rsaPublicKey(modulus, Token::readAttribute(s, hPub, CKA_PUBLIC_EXPONENT));
    // Does the token take the OAEP parameters? A ciphertext of zeros finds out without a key.
    AttributeTemplate probe = anySecretTemplate();
    CK_RSA_PKCS_OAEP_PARAMS oaep{u.hash, u.mgf, CKZ_DATA_SPECIFIED, nullptr, 0};
    RsaAesKeyWrapParams rsaAes{256, &oaep};
    CK_MECHANISM pm = u.rsaAesKeyWrap ? CK_MECHANISM{CKM_RSA_AES_KEY_WRAP, &rsaAes, sizeof rsaAes}
                                      : CK_MECHANISM{CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    Bytes zeros(modulus.size() + (u.rsaAesKeyWrap ? 24 : 0), 0);
    CK_OBJECT_HANDLE junk = CK_INVALID_HANDLE;
    rv = s.fn()->C_UnwrapKey(s.handle(), &pm, hPriv, zeros.data(), static_cast<CK_ULONG>(zeros.size()), probe.data(), probe.size(), &junk);
    if (rv == CKR_OK && junk != CK_INVALID_HANDLE) s.fn()->C_DestroyObject(s.handle(), junk);
    if (paramsRefused(rv)) oaepRefused(*token, u, rv);
    guardPriv.release();
    return key;  // guardPub destroys the public session object
  });
  out.publicKey = spkiOf(publicKey.get());
  return out;
}

TokenImported unwrapIntoToken(const std::shared_ptr<Token>& token, const std::string& keySpecName, const std::string& keyUsage,
                              const std::string& keyId, const std::string& storeId, const std::string& wrappingRef,
                              const std::string& algorithm, const std::string& pendingRef, ByteView encrypted) {
  checkTokenImportable(keySpecName);
  const KeySpecInfo& spec = keySpec(keySpecName);
  const Usage usage = usageOf(keyUsage);
  const Unwrapping u = unwrappingFor(*token, algorithm);
  if (spec.family == KeyFamily::Aes) token->require(CKM_AES_ECB, "the material id of imported AES key material (its key check value)");
  if (spec.family == KeyFamily::Hmac) token->require(CKM_SHA256_HMAC, "the material id of imported HMAC key material");
  if (spec.family == KeyFamily::Rsa) token->require(CKM_RSA_PKCS, "checking an imported RSA private key");
  if (spec.family == KeyFamily::Ec) token->require(CKM_ECDSA, "the public key of an imported elliptic curve private key");
  const std::string label = labelOf(storeId, keyId);

  return token->runChangingObjects([&](Session& s) {
    destroyById(s, pendingRef);
    CK_OBJECT_HANDLE wrappingKey = Token::findOne(s, CKO_PRIVATE_KEY, idBytes(wrappingRef));
    if (wrappingKey == CK_INVALID_HANDLE)
      throw Error(ErrorCode::InvalidKeyBlob, "the wrapping key of this import token is no longer on PKCS#11 token '" + token->label() + "'");
    const std::size_t k = Token::readAttribute(s, wrappingKey, CKA_MODULUS).size();
    Unwrapper unwrapper(s, *token, u, wrappingKey, k, encrypted);

    AttributeTemplate target = targetTemplate(spec, usage, pendingRef, label);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv = unwrapper.unwrap(target, h);
    if (isSessionLost(rv) || isHandleStale(rv)) throw RvError("C_UnwrapKey", rv);
    if (rv != CKR_OK) {
      // Did the material not decrypt, or does it not fit the key spec?
      AttributeTemplate any = anySecretTemplate();
      CK_OBJECT_HANDLE loose = CK_INVALID_HANDLE;
      if (unwrapper.unwrap(any, loose) != CKR_OK) undecryptable();
      ObjectGuard guardLoose(s, loose);
      if (isSecret(spec)) {
        // The length where it can be known without an extractable copy (paddedSecretLength).
        if (CK_ULONG told = valueLen(s, loose); told != 0) checkSecretMaterialLength(keySpecName, told);
        if (unwrapper.aesWrappedLength() != 0 || needsWrappableCopy(s, *token, spec, u))
          checkSecretMaterialLength(keySpecName, paddedSecretLength(s, unwrapper, u.kwp));
        mismatch("key material for " + std::string(spec.name) + " was refused by PKCS#11 token '" + token->label() + "' (" + rvName(rv) + ")");
      }
      mismatch("key material for " + std::string(spec.name) + " must be a DER-encoded PKCS#8 " +
               (spec.family == KeyFamily::Rsa ? "RSA" : "elliptic curve") + " private key (the token refused it: " + rvName(rv) + ")");
    }
    ObjectGuard guardTarget(s, h);
    TokenImported out;
    if (isSecret(spec)) {
      checkSecretOnToken(s, unwrapper, u, spec, keySpecName, h, keyId, out);
    } else {
      AttributeTemplate probeT = probeTemplate(spec);
      CK_OBJECT_HANDLE probe = CK_INVALID_HANDLE;
      CK_RV prv = unwrapper.unwrap(probeT, probe);
      if (prv != CKR_OK) throw RvError("C_UnwrapKey", prv);
      ObjectGuard guardProbe(s, probe);
      Pkey pub = publicKeyOfImported(s, spec, h, probe);
      out.publicKey = spkiOf(pub.get());
      out.materialId = materialIdFromCheckValue(keyId, out.publicKey);
    }
    guardTarget.release();
    return out;
  });
}

bool commitImportedObject(const std::shared_ptr<Token>& token, const std::string& pendingRef, const std::string& finalRef,
                          const std::vector<std::string>& owners) {
  const Bytes pendingId = idBytes(pendingRef), finalId = idBytes(finalRef);
  return token->runChangingObjects([&](Session& s) {
    CK_ATTRIBUTE byPending[] = {{CKA_ID, const_cast<uint8_t*>(pendingId.data()), static_cast<CK_ULONG>(pendingId.size())}};
    CK_ATTRIBUTE byFinal[] = {{CKA_ID, const_cast<uint8_t*>(finalId.data()), static_cast<CK_ULONG>(finalId.size())}};
    std::vector<CK_OBJECT_HANDLE> pending = madeByOneOf(s, Token::findAll(s, byPending, 1), byPending, owners);
    // Only an object of our own under finalRef makes ours redundant. Another store's (a store
    // restored from a backup imports the same material under the same name) is left alone, and
    // ours takes the name beside it: each store then destroys only its own.
    if (!madeByOneOf(s, Token::findAll(s, byFinal, 1), byFinal, owners).empty()) {
      for (CK_OBJECT_HANDLE h : pending) s.fn()->C_DestroyObject(s.handle(), h);
      return false;
    }
    if (pending.empty())
      throw Error(ErrorCode::KeyUnavailable, "the imported key material is no longer on PKCS#11 token '" + token->label() + "'");
    for (CK_OBJECT_HANDLE h : pending) {
      CK_ATTRIBUTE id{CKA_ID, const_cast<uint8_t*>(finalId.data()), static_cast<CK_ULONG>(finalId.size())};
      check(s.fn()->C_SetAttributeValue(s.handle(), h, &id, 1), "C_SetAttributeValue");
    }
    return true;
  });
}

}  // namespace ekms::pkcs11
