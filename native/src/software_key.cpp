#include "ekms/software_key.hpp"

#include <cstring>
#include <mutex>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ekms/aead.hpp"
#include "ekms/error.hpp"
#include "ekms/ossl.hpp"

namespace ekms {

namespace {

// Loading stored material: the two ways it can be wrong get their own messages.
Pkey loadPkcs8(ByteView der) {
  Pkcs8Info p8 = decodePkcs8(der);
  if (!p8) throw Error(ErrorCode::InvalidKeyBlob, "key material is not a PKCS#8 private key");
  Pkey pkey = keyOfPkcs8(p8.get());
  if (!pkey) throw Error(ErrorCode::InvalidKeyBlob, "key material is not a usable private key");
  return pkey;
}

// A one-shot sign or verify context with the signature's own parameters and no separate digest
// (Ed25519, Ed25519ph, ML-DSA).
void initOneShot(EVP_MD_CTX* md, EVP_PKEY* pkey, const OSSL_PARAM* params, bool forSigning, const char* what) {
  int ok = forSigning ? EVP_DigestSignInit_ex(md, nullptr, nullptr, nullptr, nullptr, pkey, params)
                      : EVP_DigestVerifyInit_ex(md, nullptr, nullptr, nullptr, nullptr, pkey, params);
  if (ok != 1) throwOpenssl(what);
}

// Ed25519ph as AWS defines ED25519_PH_SHA_512 with MessageType DIGEST: the 64-byte input is the
// message M of RFC 8032's Ed25519ph, which hashes it once more (PH(M) = SHA-512(M)).
// OpenSSL gained Ed25519ph in 3.2; the build decides, since our OpenSSL is linked statically.
void initEd25519ph(EVP_MD_CTX* md, EVP_PKEY* pkey, bool forSigning) {
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
  char instance[] = "Ed25519ph";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_INSTANCE, instance, 0),
                         OSSL_PARAM_construct_end()};
  initOneShot(md, pkey, params, forSigning, "Ed25519ph init");
#else
  (void)md;
  (void)pkey;
  (void)forSigning;
  throw Error(ErrorCode::Unsupported,
              "ED25519_PH_SHA_512 needs Ed25519ph, which this build's OpenSSL (" OPENSSL_VERSION_TEXT
              ") does not provide; OpenSSL 3.2 or later has it");
#endif
}

[[noreturn]] void noMlDsa(const char* what) {
  throw Error(ErrorCode::Unsupported,
              std::string(what) + " needs ML-DSA, which this build's OpenSSL (" OPENSSL_VERSION_TEXT ") does not provide; OpenSSL 3.5 or later has it");
}

// Pure ML-DSA (FIPS 204 §5.2, empty context), as AWS's ML_DSA_SHAKE_256: MessageType RAW signs the
// message; EXTERNAL_MU (`external`) hands over μ, the 64-byte representative of FIPS 204 §6.2
// that the signer would otherwise compute from the public key and the message. Signing is hedged
// (fresh randomness per signature), FIPS 204's default.
void initMlDsa(EVP_MD_CTX* md, EVP_PKEY* pkey, bool external, bool forSigning) {
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
  int mu = external ? 1 : 0;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_MU, &mu), OSSL_PARAM_construct_end()};
  initOneShot(md, pkey, params, forSigning, "ML-DSA init");
#else
  (void)md;
  (void)pkey;
  (void)external;
  (void)forSigning;
  noMlDsa("ML_DSA_SHAKE_256");
#endif
}

class AsymmetricKey final : public Key {
 public:
  AsymmetricKey(const KeyIdentity& id, Pkey pkey, KeyFamily family)
      : Key(id), pkey_(std::move(pkey)), family_(family), maxSignatureLen_(static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get()))) {}

  Bytes sign(const AlgorithmInfo& alg, bool isDigest, ByteView message) const override {
    if (family_ == KeyFamily::Ed25519 || family_ == KeyFamily::MlDsa) {
      MdCtx md(EVP_MD_CTX_new());
      if (!md) throwOpenssl("sign init");
      initOneShotFor(md.get(), alg, isDigest, true);
      return digestSign(md.get(), message);
    }
    const Template& t = templateFor(alg, isDigest, true);
    Bytes out(maxSignatureLen_);
    std::size_t len = out.size();
    if (isDigest) {
      PkeyCtx ctx(EVP_PKEY_CTX_dup(t.pkey.get()));
      if (!ctx || EVP_PKEY_sign(ctx.get(), out.data(), &len, message.data, message.size) != 1) throwOpenssl("sign");
    } else {
      MdCtx md(EVP_MD_CTX_new());
      if (!md || EVP_MD_CTX_copy_ex(md.get(), t.md.get()) != 1) throwOpenssl("sign init");
      if (EVP_DigestSignUpdate(md.get(), message.data, message.size) != 1 || EVP_DigestSignFinal(md.get(), out.data(), &len) != 1)
        throwOpenssl("sign");
    }
    out.resize(len);
    return out;
  }

  void verify(const AlgorithmInfo& alg, bool isDigest, ByteView message, ByteView signature) const override {
    // An RSA signature is exactly the modulus's length (RFC 8017 §8.1.2, §8.2.2); OpenSSL pads a
    // shorter one with zeros and may accept it.
    if (family_ == KeyFamily::Rsa && signature.size != static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get())))
      throw Error(ErrorCode::InvalidSignature, "signature is not valid");
    int rc;
    if (family_ == KeyFamily::Ed25519 || family_ == KeyFamily::MlDsa) {
      MdCtx md(EVP_MD_CTX_new());
      if (!md) throwOpenssl("verify init");
      initOneShotFor(md.get(), alg, isDigest, false);
      rc = EVP_DigestVerify(md.get(), signature.data, signature.size, message.data, message.size);
    } else if (isDigest) {
      PkeyCtx ctx(EVP_PKEY_CTX_dup(templateFor(alg, true, false).pkey.get()));
      if (!ctx) throwOpenssl("verify init");
      rc = EVP_PKEY_verify(ctx.get(), signature.data, signature.size, message.data, message.size);
    } else {
      MdCtx md(EVP_MD_CTX_new());
      if (!md || EVP_MD_CTX_copy_ex(md.get(), templateFor(alg, false, false).md.get()) != 1) throwOpenssl("verify init");
      rc = EVP_DigestVerifyUpdate(md.get(), message.data, message.size);
      if (rc == 1) rc = EVP_DigestVerifyFinal(md.get(), signature.data, signature.size);
    }
    if (rc != 1) {
      // 0 is a mismatch; negative is a signature that does not even parse. Both are invalid.
      clearOpensslErrors();
      throw Error(ErrorCode::InvalidSignature, "signature is not valid");
    }
  }

  Bytes encrypt(const AlgorithmInfo& alg, ByteView plaintext, const EncryptionContext&) const override {
    if (family_ != KeyFamily::Rsa || alg.padding != Padding::Oaep) unsupported("Encrypt");
    return rsaOaepEncrypt(pkey_.get(), alg, plaintext);
  }

  // Inline: what takes under about 0.7 ms (a token's bound is 1 ms, token_key.cpp), in constant
  // time, where a thread round trip costs a caller signing one at a time 100 µs and more (P-384:
  // 637 µs a signature on the pool against Node's 538 inline, same OpenSSL). Measured here (one
  // core, OpenSSL 3.0): P-256 sign 20 µs, verify 65; Ed25519 36 and 93; secp256k1 about 250
  // each; P-521 about 250 and 400; P-384 540 and 500 (190 and 370 with OpenSSL 3.5); RSA-2048
  // sign 295, verify 16; RSA-4096 verify 60. Left on the pool: RSA-3072/4096 signatures (1.5-4
  // ms), and ML-DSA's (0.5-0.8 ms on average, but 2.5 ms at the 99th percentile: its signing
  // loop repeats a random number of times).
  bool cheapToSignInline() const override {
    return family_ == KeyFamily::Ec || family_ == KeyFamily::Ed25519 || identity().keySpec == "RSA_2048";
  }

  bool cheapToVerifyInline() const override { return cheapToSignInline() || family_ == KeyFamily::Rsa; }
  // RSA-OAEP: encryption with the public key of every size (20-60 µs); decryption as a signature
  // (RSA-2048: about 300 µs). ECDH as an ECDSA signature: P-256 50 µs, P-384 500, P-521 250.
  bool cheapToEncryptInline() const override { return family_ == KeyFamily::Rsa; }
  bool cheapToDecryptInline() const override { return family_ == KeyFamily::Rsa && cheapToSignInline(); }
  bool cheapToDeriveInline() const override { return family_ == KeyFamily::Ec; }

  SecretBytes decrypt(const AlgorithmInfo& alg, ByteView ciphertext, const EncryptionContext&) const override {
    if (family_ != KeyFamily::Rsa || alg.padding != Padding::Oaep) unsupported("Decrypt");
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) throwOpenssl("decrypt init");
    setRsaOaep(ctx.get(), alg);
    std::size_t len = static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get()));
    // Exactly the modulus's length (RFC 8017 §7.1.2), as a token requires: OpenSSL would take a
    // ciphertext whose leading zero byte was dropped.
    if (ciphertext.size != len) throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid");
    SecretBytes out(len);
    if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data, ciphertext.size) != 1) {
      clearOpensslErrors();
      throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid");
    }
    out.resize(len);
    return out;
  }

  SecretBytes deriveSharedSecret(ByteView peerDer) const override {
    if (family_ != KeyFamily::Ec) unsupported("DeriveSharedSecret");
    Pkey peer = parseEcdhPeer(pkey_.get(), peerDer);
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) throwOpenssl("derive init");
    if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
      clearOpensslErrors();
      throw Error(ErrorCode::InvalidInput, "the public key is not a valid point on the key's curve");
    }
    std::size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) throwOpenssl("derive size");
    SecretBytes out(len);
    if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) throwOpenssl("derive");
    out.resize(len);
    return out;
  }

 private:
  // Ed25519 and ML-DSA sign the message (or ML-DSA's μ, `isDigest`) in one shot, no digest apart.
  void initOneShotFor(EVP_MD_CTX* md, const AlgorithmInfo& alg, bool isDigest, bool signing) const {
    if (family_ == KeyFamily::MlDsa) initMlDsa(md, pkey_.get(), isDigest, signing);
    else if (alg.ed25519ph) initEd25519ph(md, pkey_.get(), signing);
    else initOneShot(md, pkey_.get(), nullptr, signing, signing ? "sign init" : "verify init");
  }

  // A context initialised once per (algorithm, input kind, direction) and copied per operation:
  // making one from scratch looks the algorithms up by name under OpenSSL's global locks, about
  // 10% of the instructions of a P-256 sign. Copies only read the template, so threads share it.
  struct Template {
    const AlgorithmInfo* alg;
    bool isDigest;
    bool signing;
    PkeyCtx pkey;  // DIGEST: an EVP_PKEY_sign/verify context
    MdCtx md;      // RAW: an EVP_DigestSign/Verify context
  };

  const Template& templateFor(const AlgorithmInfo& alg, bool isDigest, bool signing) const {
    std::lock_guard<std::mutex> lock(templatesMutex_);
    for (const auto& t : templates_)
      if (t->alg == &alg && t->isDigest == isDigest && t->signing == signing) return *t;
    auto t = std::make_unique<Template>(Template{&alg, isDigest, signing, nullptr, nullptr});
    if (isDigest) {
      t->pkey.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
      if (!t->pkey || (signing ? EVP_PKEY_sign_init(t->pkey.get()) : EVP_PKEY_verify_init(t->pkey.get())) != 1)
        throwOpenssl(signing ? "sign init" : "verify init");
      if (EVP_PKEY_CTX_set_signature_md(t->pkey.get(), digestOf(alg)) != 1) throwOpenssl("signature digest");
      setRsaSignaturePadding(t->pkey.get(), alg);
    } else {
      t->md.reset(EVP_MD_CTX_new());
      EVP_PKEY_CTX* pctx = nullptr;
      if (!t->md ||
          (signing ? EVP_DigestSignInit(t->md.get(), &pctx, digestOf(alg), nullptr, pkey_.get())
                   : EVP_DigestVerifyInit(t->md.get(), &pctx, digestOf(alg), nullptr, pkey_.get())) != 1)
        throwOpenssl(signing ? "sign init" : "verify init");
      setRsaSignaturePadding(pctx, alg);
    }
    templates_.push_back(std::move(t));
    return *templates_.back();
  }

  static Bytes digestSign(EVP_MD_CTX* md, ByteView message) {
    std::size_t len = 0;
    if (EVP_DigestSign(md, nullptr, &len, message.data, message.size) != 1) throwOpenssl("sign size");
    Bytes out(len);
    if (EVP_DigestSign(md, out.data(), &len, message.data, message.size) != 1) throwOpenssl("sign");
    out.resize(len);
    return out;
  }

  Pkey pkey_;
  KeyFamily family_;
  std::size_t maxSignatureLen_;
  mutable std::mutex templatesMutex_;
  mutable std::vector<std::unique_ptr<Template>> templates_;  // append-only; at most one per algorithm use
};

class AesKey final : public Key {
 public:
  AesKey(const KeyIdentity& id, ByteView key) : Key(id), key_(toKeyBytes(key)) {
    if (key_.size() != 32) throw Error(ErrorCode::InvalidKeyBlob, "SYMMETRIC_DEFAULT material must be 32 bytes");
  }

  Bytes encrypt(const AlgorithmInfo& alg, ByteView plaintext, const EncryptionContext& context) const override {
    if (std::strcmp(alg.name, "SYMMETRIC_DEFAULT") != 0) unsupported("Encrypt");
    Bytes nonce = randomBytes(kGcmNonceLen);
    Bytes out;
    out.reserve(2 + identity().keyId.size() + kMaterialIdLen + kGcmNonceLen + plaintext.size + kGcmTagLen);
    writeCiphertextHeader(identity().keyId, identity().materialId, nonce, out);
    Bytes aad = ciphertextAad(out, context);
    gcmSeal(key_, nonce, aad, plaintext, out);
    return out;
  }

  bool cheapToRunInline() const override { return true; }

  SecretBytes decrypt(const AlgorithmInfo& alg, ByteView ciphertext, const EncryptionContext& context) const override {
    if (std::strcmp(alg.name, "SYMMETRIC_DEFAULT") != 0) unsupported("Decrypt");
    CiphertextParts parts = parseCiphertext(ciphertext);
    if (parts.keyId != identity().keyId || parts.materialId != identity().materialId)
      throw Error(ErrorCode::IncorrectKey, "ciphertext was made under another key");
    Bytes aad = ciphertextAad(parts.header, context);
    SecretBytes out;
    if (!gcmOpen(key_, parts.nonce, aad, parts.body, parts.tag, out))
      throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid");
    return out;
  }

 private:
  KeyBytes key_;
};

class HmacKey final : public Key {
 public:
  HmacKey(const KeyIdentity& id, ByteView key) : Key(id), key_(toKeyBytes(key)) {}

  bool cheapToRunInline() const override { return true; }

  Bytes mac(const AlgorithmInfo& alg, ByteView message) const override {
    if (std::strncmp(alg.name, "HMAC_", 5) != 0) unsupported("GenerateMac");
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (HMAC(digestOf(alg), key_.data(), static_cast<int>(key_.size()), message.data, message.size, out.data(), &len) == nullptr)
      throwOpenssl("HMAC");
    out.resize(len);
    return out;
  }

 private:
  KeyBytes key_;
};

}  // namespace

GeneratedKey generateMaterial(const std::string& keySpecName) {
  const KeySpecInfo& spec = keySpec(keySpecName);
  GeneratedKey out;
  Pkey pkey;
  switch (spec.family) {
    case KeyFamily::Aes:
    case KeyFamily::Hmac:
      out.material = randomSecret(static_cast<std::size_t>(spec.bits / 8));
      return out;
    case KeyFamily::Rsa:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(spec.bits)));
      break;
    case KeyFamily::Ec:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.curve));
      break;
    case KeyFamily::Ed25519:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
    case KeyFamily::MlDsa:
      if (!mlDsaAvailable()) noMlDsa(spec.name);
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, spec.curve));
      break;
  }
  if (!pkey) throwOpenssl("key generation");
  out.material = pkcs8Of(pkey.get());
  out.publicKey = spkiOf(pkey.get());
  return out;
}

std::shared_ptr<const Key> loadSoftwareKey(const KeyIdentity& id, ByteView material) {
  const KeySpecInfo& spec = keySpec(id.keySpec);
  switch (spec.family) {
    case KeyFamily::Aes:
      return std::make_shared<const AesKey>(id, material);
    case KeyFamily::Hmac:
      if (material.size == 0) throw Error(ErrorCode::InvalidKeyBlob, "HMAC material is empty");
      return std::make_shared<const HmacKey>(id, material);
    default: {
      Pkey pkey = loadPkcs8(material);
      int type = EVP_PKEY_get_base_id(pkey.get());
      bool matches = (spec.family == KeyFamily::Rsa && type == EVP_PKEY_RSA) ||
                     (spec.family == KeyFamily::Ec && type == EVP_PKEY_EC) ||
                     (spec.family == KeyFamily::Ed25519 && type == EVP_PKEY_ED25519) ||
                     (spec.family == KeyFamily::MlDsa && EVP_PKEY_is_a(pkey.get(), spec.curve) == 1);
      if (!matches) throw Error(ErrorCode::InvalidKeyBlob, "key material does not match key spec " + id.keySpec);
      return std::make_shared<const AsymmetricKey>(id, std::move(pkey), spec.family);
    }
  }
}

Bytes publicKeyOf(ByteView pkcs8) { return spkiOf(loadPkcs8(pkcs8).get()); }

}  // namespace ekms
