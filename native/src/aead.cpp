#include "ekms/aead.hpp"

#include <openssl/evp.h>

#include "ekms/error.hpp"
#include "ekms/ossl.hpp"

namespace ekms {

namespace {

const EVP_CIPHER* aes256gcm() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

int asInt(std::size_t n) {
  if (n > static_cast<std::size_t>(INT32_MAX)) throw Error(ErrorCode::InvalidInput, "input too large");
  return static_cast<int>(n);
}

}  // namespace

void gcmSeal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext, Bytes& out) {
  if (key.size != 32 || nonce.size != kGcmNonceLen) throw Error(ErrorCode::Internal, "bad AES-GCM key or nonce");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), aes256gcm(), key.data, nonce.data, nullptr) != 1)
    throwOpenssl("AES-GCM init");
  int len = 0;
  if (aad.size > 0 && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data, asInt(aad.size)) != 1)
    throwOpenssl("AES-GCM aad");
  const std::size_t start = out.size();
  out.resize(start + plaintext.size + kGcmTagLen);
  if (plaintext.size > 0 &&
      EVP_EncryptUpdate(ctx.get(), out.data() + start, &len, plaintext.data, asInt(plaintext.size)) != 1)
    throwOpenssl("AES-GCM encrypt");
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + start + plaintext.size, &fin) != 1)
    throwOpenssl("AES-GCM final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagLen, out.data() + start + plaintext.size) != 1)
    throwOpenssl("AES-GCM tag");
}

bool gcmOpen(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext, ByteView tag,
             SecretBytes& out) {
  if (key.size != 32 || nonce.size != kGcmNonceLen || tag.size != kGcmTagLen)
    throw Error(ErrorCode::Internal, "bad AES-GCM key, nonce or tag");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), aes256gcm(), key.data, nonce.data, nullptr) != 1)
    throwOpenssl("AES-GCM init");
  int len = 0;
  if (aad.size > 0 && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data, asInt(aad.size)) != 1)
    throwOpenssl("AES-GCM aad");
  out.assign(ciphertext.size, 0);
  if (ciphertext.size > 0 &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, ciphertext.data, asInt(ciphertext.size)) != 1)
    throwOpenssl("AES-GCM decrypt");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagLen, const_cast<uint8_t*>(tag.data)) != 1)
    throwOpenssl("AES-GCM tag");
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + out.size(), &fin) != 1) {
    clearOpensslErrors();
    out.assign(out.size(), 0);
    out.clear();
    return false;
  }
  return true;
}

}  // namespace ekms
