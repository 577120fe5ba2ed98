#include "ekms/import.hpp"

#include <cstring>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "ekms/ciphertext.hpp"
#include "ekms/error.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/ossl.hpp"

namespace ekms {

namespace {

const WrappingAlgorithmInfo kWrappingAlgorithms[] = {
    {"RSAES_OAEP_SHA_1", "SHA1", false},
    {"RSAES_OAEP_SHA_256", "SHA256", false},
    {"RSA_AES_KEY_WRAP_SHA_1", "SHA1", true},
    {"RSA_AES_KEY_WRAP_SHA_256", "SHA256", true},
};

constexpr char kTokenMagic[4] = {'E', 'K', 'I', 'T'};
constexpr uint8_t kTokenVersion = 1;
constexpr std::size_t kWrappingKeyIdLen = 32;
const char kMaterialIdLabel[] = "ekms imported key material v1";

KeyIdentity wrappingKeyIdentity(const ImportParameters& p) {
  return {p.keyId, "IMPORT_WRAPPING_KEY " + p.wrappingKeySpec, p.wrappingKeyId};
}

KeyIdentity tokenIdentity(const std::string& keyId, const std::string& wrappingKeyId) {
  return {keyId, "IMPORT_TOKEN", wrappingKeyId};
}

const EVP_MD* mdOf(const char* name) {
  static const EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static const EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return std::strcmp(name, "SHA1") == 0 ? sha1 : sha256;
}

[[noreturn]] void undecryptable() {
  clearOpensslErrors();
  throw Error(ErrorCode::InvalidCiphertext,
              "the encrypted key material does not decrypt with the wrapping key and wrapping algorithm of its import token");
}

SecretBytes oaepDecrypt(EVP_PKEY* rsa, const char* digest, ByteView ciphertext) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, rsa, nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) throwOpenssl("OAEP init");
  if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), mdOf(digest)) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), mdOf(digest)) != 1)
    throwOpenssl("OAEP parameters");
  std::size_t len = static_cast<std::size_t>(EVP_PKEY_get_size(rsa));
  if (ciphertext.size != len) undecryptable();
  SecretBytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data, ciphertext.size) != 1) undecryptable();
  out.resize(len);
  return out;
}

Cipher wrapPadCipher(std::size_t keyLen) {
  const char* name = keyLen == 16 ? "AES-128-WRAP-PAD" : keyLen == 24 ? "AES-192-WRAP-PAD" : keyLen == 32 ? "AES-256-WRAP-PAD" : nullptr;
  if (name == nullptr) throw Error(ErrorCode::InvalidInput, "an AES key wrap key is 16, 24 or 32 bytes");
  Cipher cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
  if (!cipher) throwOpenssl("AES key wrap cipher");
  return cipher;
}

// One pass of AES-KWP in either direction; false when the unwrap integrity check fails.
template <typename Out>
bool keyWrapPad(ByteView kek, ByteView in, bool wrap, Out& out) {
  Cipher cipher = wrapPadCipher(kek.size);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throwOpenssl("AES key wrap ctx");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher.get(), kek.data, nullptr, wrap ? 1 : 0, nullptr) != 1) throwOpenssl("AES key wrap init");
  out.assign(in.size + 16, 0);
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data, static_cast<int>(in.size)) != 1 || len < 0) {
    out.clear();
    clearOpensslErrors();
    if (wrap) throwOpenssl("AES key wrap");
    return false;
  }
  int tail = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &tail) != 1 || tail < 0) {
    out.clear();
    clearOpensslErrors();
    if (wrap) throwOpenssl("AES key wrap");
    return false;
  }
  out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(tail));
  return true;
}

void appendU8String(Bytes& out, const std::string& s) {
  out.push_back(static_cast<uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

bool readU8String(ByteView v, std::size_t& pos, std::string& out) {
  if (pos >= v.size) return false;
  const std::size_t n = v.data[pos++];
  if (n > v.size - pos) return false;
  out.assign(reinterpret_cast<const char*>(v.data + pos), n);
  pos += n;
  return true;
}

std::string hexOf(const uint8_t* data, std::size_t len) { return toHex(ByteView(data, len)); }

// SHA-256(label 0 keyId 0 value): the ids of AES and asymmetric material.
std::string hashedMaterialId(const std::string& keyId, ByteView value) {
  Bytes message(kMaterialIdLabel, kMaterialIdLabel + sizeof kMaterialIdLabel);
  message.insert(message.end(), keyId.begin(), keyId.end());
  message.push_back(0);
  message.insert(message.end(), value.data, value.data + value.size);
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(message.data(), message.size(), digest, &len, EVP_sha256(), nullptr) != 1) throwOpenssl("material id");
  return hexOf(digest, len);
}

// AES material: its key check value, AES_K(0^128), which a PKCS#11 token can compute too
// (CKM_AES_ECB) without the key leaving it.
std::string aesMaterialId(const std::string& keyId, ByteView material) {
  Cipher cipher(EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx || EVP_EncryptInit_ex2(ctx.get(), cipher.get(), material.data, nullptr, nullptr) != 1)
    throwOpenssl("key check value");
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  const uint8_t zero[16] = {0};
  uint8_t kcv[32];
  int len = 0, tail = 0;
  if (EVP_EncryptUpdate(ctx.get(), kcv, &len, zero, sizeof zero) != 1 || EVP_EncryptFinal_ex(ctx.get(), kcv + len, &tail) != 1 ||
      len + tail != 16)
    throwOpenssl("key check value");
  std::string id = hashedMaterialId(keyId, ByteView(kcv, 16));
  OPENSSL_cleanse(kcv, sizeof kcv);
  return id;
}

// HMAC material: the id hashes M, HMAC-SHA-256 under the material of label 0 keyId
// (CKM_SHA256_HMAC on a token); M itself was the id of material imported before (import.hpp).
void setHmacMaterialIds(CheckedMaterial& out, const std::string& keyId) {
  Bytes message(kMaterialIdLabel, kMaterialIdLabel + sizeof kMaterialIdLabel);  // label and its NUL
  message.insert(message.end(), keyId.begin(), keyId.end());
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), out.material.data(), static_cast<int>(out.material.size()), message.data(), message.size(), mac, &len) == nullptr)
    throwOpenssl("material id");
  out.materialId = hashedMaterialId(keyId, ByteView(mac, len));
  out.legacyMaterialId = hexOf(mac, len);
  OPENSSL_cleanse(mac, sizeof mac);
}

[[noreturn]] void mismatch(const std::string& what) { throw Error(ErrorCode::InvalidInput, what); }

void checkHmacLength(const KeySpecInfo& spec, std::size_t n) {
  // AWS's limits for imported HMAC key material.
  std::size_t min = static_cast<std::size_t>(spec.bits / 8);
  std::size_t max = spec.bits <= 256 ? 64 : 128;
  if (n < min || n > max)
    mismatch("key material for " + std::string(spec.name) + " must be " + std::to_string(min) + " to " + std::to_string(max) +
             " bytes long, not " + std::to_string(n));
}

int curveNid(const char* curve) {
  int nid = EC_curve_nist2nid(curve);
  return nid != NID_undef ? nid : OBJ_sn2nid(curve);
}

void checkAsymmetric(const KeySpecInfo& spec, EVP_PKEY* pkey) {
  const std::string name = spec.name;
  switch (spec.family) {
    case KeyFamily::Rsa: {
      if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) mismatch("key material for " + name + " must be an RSA private key");
      const int bits = EVP_PKEY_get_bits(pkey);
      if (bits != spec.bits)
        mismatch("key material for " + name + " must be a " + std::to_string(spec.bits) + "-bit RSA key, not " + std::to_string(bits) + "-bit");
      break;
    }
    case KeyFamily::Ec: {
      if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) mismatch("key material for " + name + " must be an elliptic curve private key");
      char group[64] = {0};
      std::size_t len = 0;
      // A key with explicit parameters would keep them in GetPublicKey's answer, which other
      // implementations (and a token) refuse.
      if (!namesItsCurve(pkey) || EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) {
        clearOpensslErrors();
        mismatch("key material for " + name + " must name its curve (explicit curve parameters are not accepted)");
      }
      if (OBJ_sn2nid(group) != curveNid(spec.curve) && EC_curve_nist2nid(group) != curveNid(spec.curve))
        mismatch("key material for " + name + " must be a key on curve " + spec.curve + ", not " + group);
      break;
    }
    case KeyFamily::Ed25519:
      if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) mismatch("key material for " + name + " must be an Ed25519 private key");
      break;
    default:
      mismatch("key spec " + name + " does not take a private key");
  }
  // The private key and the public key it carries (or implies) must belong together.
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) throwOpenssl("key check");
  if (EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    clearOpensslErrors();
    mismatch("key material for " + name + " is not a consistent private key");
  }
}

}  // namespace

std::string materialIdFromCheckValue(const std::string& keyId, ByteView checkValue) { return hashedMaterialId(keyId, checkValue); }

Bytes hmacMaterialIdMessage(const std::string& keyId) {
  std::string message(kMaterialIdLabel, sizeof kMaterialIdLabel);  // label and its NUL
  message += keyId;
  return Bytes(message.begin(), message.end());
}

void checkSecretMaterialLength(const std::string& keySpecName, std::size_t n) {
  const KeySpecInfo& spec = keySpec(keySpecName);
  if (spec.family == KeyFamily::Aes) {
    if (n != static_cast<std::size_t>(spec.bits / 8))
      mismatch("key material for SYMMETRIC_DEFAULT must be 256 bits (32 bytes) long, not " + std::to_string(n) + " bytes");
    return;
  }
  if (spec.family != KeyFamily::Hmac) mismatch("key spec " + std::string(spec.name) + " does not take secret key material");
  checkHmacLength(spec, n);
}

const WrappingAlgorithmInfo& wrappingAlgorithm(const std::string& name) {
  for (const auto& a : kWrappingAlgorithms)
    if (name == a.name) return a;
  if (name == "RSAES_PKCS1_V1_5")
    throw Error(ErrorCode::Unsupported, "the RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported (AWS KMS dropped it in October 2023)");
  if (name == "SM2PKE") throw Error(ErrorCode::Unsupported, "the SM2PKE wrapping algorithm is available only in AWS China Regions");
  throw Error(ErrorCode::InvalidInput, "unknown wrapping algorithm " + name);
}

int wrappingKeyBits(const std::string& spec) {
  if (spec == "RSA_2048") return 2048;
  if (spec == "RSA_3072") return 3072;
  if (spec == "RSA_4096") return 4096;
  if (spec == "SM2") throw Error(ErrorCode::Unsupported, "SM2 wrapping keys are available only in AWS China Regions");
  throw Error(ErrorCode::InvalidInput, "unknown wrapping key spec " + spec);
}

Bytes sealImportToken(const RootKey& root, const ImportParameters& params) {
  Bytes rawId;
  if (!fromHex(params.wrappingKeyId, rawId) || rawId.size() != kWrappingKeyIdLen)
    throw Error(ErrorCode::InvalidInput, "a wrapping key id is 64 hex characters");
  if (params.validToMs < 0) throw Error(ErrorCode::InvalidInput, "valid-to time before 1970");
  Bytes payload;
  const auto validTo = static_cast<uint64_t>(params.validToMs);
  for (int shift = 56; shift >= 0; shift -= 8) payload.push_back(static_cast<uint8_t>(validTo >> shift));
  appendU8String(payload, params.wrappingKeySpec);
  appendU8String(payload, params.algorithm);
  Bytes token(kTokenMagic, kTokenMagic + sizeof kTokenMagic);
  token.push_back(kTokenVersion);
  token.insert(token.end(), rawId.begin(), rawId.end());
  Bytes sealed = root.wrap(tokenIdentity(params.keyId, params.wrappingKeyId), payload);
  token.insert(token.end(), sealed.begin(), sealed.end());
  return token;
}

bool openImportToken(const RootKey& root, const std::string& keyId, ByteView token, ImportParameters& out) {
  const std::size_t head = sizeof kTokenMagic + 1 + kWrappingKeyIdLen;
  if (token.size <= head || std::memcmp(token.data, kTokenMagic, sizeof kTokenMagic) != 0 || token.data[sizeof kTokenMagic] != kTokenVersion)
    return false;
  ImportParameters p;
  p.keyId = keyId;
  p.wrappingKeyId = hexOf(token.data + sizeof kTokenMagic + 1, kWrappingKeyIdLen);
  SecretBytes payload;
  try {
    payload = root.unwrap(tokenIdentity(keyId, p.wrappingKeyId), ByteView(token.data + head, token.size - head));
  } catch (const Error&) {
    return false;
  }
  ByteView v(payload);
  if (v.size < 8) return false;
  uint64_t validTo = 0;
  for (std::size_t i = 0; i < 8; ++i) validTo = validTo << 8 | v.data[i];
  std::size_t pos = 8;
  if (!readU8String(v, pos, p.wrappingKeySpec) || !readU8String(v, pos, p.algorithm) || pos != v.size) return false;
  if (validTo > static_cast<uint64_t>(INT64_MAX)) return false;
  p.validToMs = static_cast<int64_t>(validTo);
  out = std::move(p);
  return true;
}

WrappingKey generateWrappingKey(const RootKey& root, const ImportParameters& params) {
  wrappingAlgorithm(params.algorithm);
  const int bits = wrappingKeyBits(params.wrappingKeySpec);
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  if (!pkey) throwOpenssl("wrapping key generation");
  WrappingKey out;
  out.publicKey = spkiOf(pkey.get());
  out.wrappedPrivateKey = root.wrap(wrappingKeyIdentity(params), pkcs8Of(pkey.get()));
  out.importToken = sealImportToken(root, params);
  return out;
}

SecretBytes unwrapKeyMaterial(const RootKey& root, const ImportParameters& params, ByteView wrappedPrivateKey,
                              ByteView encrypted) {
  const WrappingAlgorithmInfo& alg = wrappingAlgorithm(params.algorithm);
  const int bits = wrappingKeyBits(params.wrappingKeySpec);
  Pkey rsa = parsePkcs8(root.unwrap(wrappingKeyIdentity(params), wrappedPrivateKey));
  if (!rsa || EVP_PKEY_get_base_id(rsa.get()) != EVP_PKEY_RSA || EVP_PKEY_get_bits(rsa.get()) != bits)
    throw Error(ErrorCode::InvalidKeyBlob, "the stored wrapping key is not the RSA key its import parameters name");
  if (!alg.aesKeyWrap) return oaepDecrypt(rsa.get(), alg.oaepDigest, encrypted);
  const std::size_t k = static_cast<std::size_t>(EVP_PKEY_get_size(rsa.get()));
  // The OAEP-wrapped AES key, then at least one 16-byte AES-KWP block.
  if (encrypted.size < k + 16 || (encrypted.size - k) % 8 != 0) undecryptable();
  SecretBytes aesKey = oaepDecrypt(rsa.get(), alg.oaepDigest, ByteView(encrypted.data, k));
  if (aesKey.size() != 16 && aesKey.size() != 24 && aesKey.size() != 32) undecryptable();
  SecretBytes material;
  if (!keyWrapPad(aesKey, ByteView(encrypted.data + k, encrypted.size - k), false, material)) undecryptable();
  return material;
}

CheckedMaterial checkImportedMaterial(const std::string& keySpecName, const std::string& keyId, ByteView material) {
  const KeySpecInfo& spec = keySpec(keySpecName);
  CheckedMaterial out;
  switch (spec.family) {
    case KeyFamily::Aes:
      if (material.size != static_cast<std::size_t>(spec.bits / 8))
        mismatch("key material for SYMMETRIC_DEFAULT must be 256 bits (32 bytes) long, not " + std::to_string(material.size) + " bytes");
      out.material = toSecret(material);
      out.materialId = aesMaterialId(keyId, material);
      return out;
    case KeyFamily::Hmac:
      checkHmacLength(spec, material.size);
      out.material = toSecret(material);
      setHmacMaterialIds(out, keyId);
      return out;
    default: {
      Pkey pkey = parsePkcs8(material);
      if (!pkey) mismatch("key material for " + std::string(spec.name) + " must be a DER-encoded PKCS#8 private key");
      checkAsymmetric(spec, pkey.get());
      out.material = pkcs8Of(pkey.get());
      out.publicKey = spkiOf(pkey.get());
      out.materialId = hashedMaterialId(keyId, out.publicKey);
      return out;
    }
  }
}

Bytes aesKeyWrapPad(ByteView kek, ByteView plaintext) {
  if (plaintext.size == 0) throw Error(ErrorCode::InvalidInput, "nothing to wrap");
  Bytes out;
  keyWrapPad(kek, plaintext, true, out);
  return out;
}

SecretBytes aesKeyUnwrapPad(ByteView kek, ByteView wrapped) {
  SecretBytes out;
  if (wrapped.size < 16 || wrapped.size % 8 != 0 || !keyWrapPad(kek, wrapped, false, out))
    throw Error(ErrorCode::InvalidCiphertext, "AES key wrap integrity check failed");
  return out;
}

}  // namespace ekms
