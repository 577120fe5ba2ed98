#include "ekms/ossl.hpp"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <cstring>

#include "ekms/error.hpp"

namespace ekms {

Bytes spkiOf(EVP_PKEY* pkey) {
  int len = i2d_PUBKEY(pkey, nullptr);
  if (len <= 0) throwOpenssl("encode public key");
  Bytes out(static_cast<std::size_t>(len));
  uint8_t* p = out.data();
  if (i2d_PUBKEY(pkey, &p) != len) throwOpenssl("encode public key");
  return out;
}

Pkey parseSpki(ByteView der) {
  const uint8_t* p = der.data;
  Pkey pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size)));
  if (!pkey || p != der.data + der.size) {
    clearOpensslErrors();
    throw Error(ErrorCode::InvalidInput, "the public key is not a DER-encoded SubjectPublicKeyInfo");
  }
  return pkey;
}

bool namesItsCurve(EVP_PKEY* pkey) {
  char encoding[32] = {0};
  const bool named = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding, sizeof encoding, nullptr) == 1 &&
                     std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) == 0;
  if (!named) clearOpensslErrors();
  return named;
}

Pkey parseEcdhPeer(EVP_PKEY* own, ByteView der) {
  Pkey peer = parseSpki(der);
  if (!namesItsCurve(peer.get())) throw Error(ErrorCode::InvalidInput, "the public key must name its curve (explicit curve parameters are not accepted)");
  if (EVP_PKEY_parameters_eq(own, peer.get()) != 1) {
    clearOpensslErrors();
    throw Error(ErrorCode::InvalidInput, "the public key is not on the key's curve");
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, peer.get(), nullptr));
  if (!ctx) throwOpenssl("peer key check");
  if (EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    clearOpensslErrors();
    throw Error(ErrorCode::InvalidInput, "the public key is not a valid point on the key's curve");
  }
  return peer;
}

SecretBytes pkcs8Of(EVP_PKEY* pkey) {
  Pkcs8Info p8(EVP_PKEY2PKCS8(pkey));
  if (!p8) throwOpenssl("encode private key");
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  SecretBytes out(len > 0 ? static_cast<std::size_t>(len) : 0);
  uint8_t* p = out.data();
  int written = len > 0 ? i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) : -1;
  if (written != len || len <= 0) throwOpenssl("encode private key");
  return out;
}

Pkcs8Info decodePkcs8(ByteView der) {
  const uint8_t* p = der.data;
  Pkcs8Info p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size)));
  if (!p8 || p != der.data + der.size) {
    clearOpensslErrors();
    return nullptr;
  }
  return p8;
}

Pkey keyOfPkcs8(const PKCS8_PRIV_KEY_INFO* p8) {
  Pkey pkey(EVP_PKCS82PKEY(p8));
  if (!pkey) clearOpensslErrors();
  return pkey;
}

Pkey parsePkcs8(ByteView der) {
  Pkcs8Info p8 = decodePkcs8(der);
  return p8 ? keyOfPkcs8(p8.get()) : nullptr;
}

void setRsaSignaturePadding(EVP_PKEY_CTX* ctx, const AlgorithmInfo& alg) {
  if (alg.padding == Padding::Pss) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, digestOf(alg)) != 1)
      throwOpenssl("RSA-PSS parameters");
  } else if (alg.padding == Padding::Pkcs1) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) throwOpenssl("RSA PKCS#1 parameters");
  }
}

void setRsaOaep(EVP_PKEY_CTX* ctx, const AlgorithmInfo& alg) {
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, digestOf(alg)) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, digestOf(alg)) != 1)
    throwOpenssl("RSA-OAEP parameters");
}

Bytes rsaOaepEncrypt(EVP_PKEY* pkey, const AlgorithmInfo& alg, ByteView plaintext) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1) throwOpenssl("encrypt init");
  setRsaOaep(ctx.get(), alg);
  std::size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data, plaintext.size) != 1) throwOpenssl("encrypt size");
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data, plaintext.size) != 1) {
    clearOpensslErrors();
    throw Error(ErrorCode::InvalidInput, "plaintext is too large for this key and algorithm");
  }
  out.resize(len);
  return out;
}

}  // namespace ekms
