#include "public_key.hpp"

#include <cstring>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "ekms/error.hpp"

namespace ekms::pkcs11 {

namespace {

Pkey fromData(const char* type, OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    throwOpenssl("public key from token attributes");
  return Pkey(pkey);
}

// CKA_EC_POINT is normally DER (OCTET STRING); a bare point of the expected size is accepted too.
Bytes unwrapEcPoint(ByteView ecPoint, std::size_t bareSize, uint8_t bareFirst) {
  if (bareSize != 0 && ecPoint.size == bareSize && ecPoint.data[0] == bareFirst) return toBytes(ecPoint);
  const uint8_t* p = ecPoint.data;
  ASN1_OCTET_STRING* os = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(ecPoint.size));
  if (os == nullptr || p != ecPoint.data + ecPoint.size) {
    ASN1_OCTET_STRING_free(os);
    clearOpensslErrors();
    throw Error(ErrorCode::Internal, "the token's CKA_EC_POINT is not an encoded point");
  }
  Bytes out(ASN1_STRING_get0_data(os), ASN1_STRING_get0_data(os) + ASN1_STRING_length(os));
  ASN1_OCTET_STRING_free(os);
  return out;
}

}  // namespace

Pkey rsaPublicKey(ByteView modulus, ByteView exponent) {
  BIGNUM* n = BN_bin2bn(modulus.data, static_cast<int>(modulus.size), nullptr);
  BIGNUM* e = BN_bin2bn(exponent.data, static_cast<int>(exponent.size), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  if (n != nullptr && e != nullptr && bld != nullptr && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
    params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  if (params == nullptr) throwOpenssl("RSA public key parameters");
  try {
    Pkey pkey = fromData("RSA", params);
    OSSL_PARAM_free(params);
    return pkey;
  } catch (...) {
    OSSL_PARAM_free(params);
    throw;
  }
}

std::size_t ecFieldBytes(const KeySpecInfo& spec) {
  if (std::strcmp(spec.curve, "P-384") == 0) return 48;
  if (std::strcmp(spec.curve, "P-521") == 0) return 66;
  return 32;  // P-256, secp256k1
}

Bytes ecParamsOf(const KeySpecInfo& spec) {
  // DER OBJECT IDENTIFIERs: prime256v1 1.2.840.10045.3.1.7, secp384r1 1.3.132.0.34,
  // secp521r1 1.3.132.0.35, secp256k1 1.3.132.0.10, id-Ed25519 1.3.101.112.
  if (spec.family == KeyFamily::Ed25519) return {0x06, 0x03, 0x2b, 0x65, 0x70};
  if (std::strcmp(spec.curve, "P-256") == 0) return {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  if (std::strcmp(spec.curve, "P-384") == 0) return {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  if (std::strcmp(spec.curve, "P-521") == 0) return {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
  if (std::strcmp(spec.curve, "secp256k1") == 0) return {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
  throw Error(ErrorCode::InvalidInput, std::string("no PKCS#11 curve for ") + spec.name);
}

Pkey ecPublicKey(const KeySpecInfo& spec, ByteView ecPoint) {
  Bytes point = unwrapEcPoint(ecPoint, 1 + 2 * ecFieldBytes(spec), 0x04);
  char group[16];
  std::snprintf(group, sizeof group, "%s", spec.curve);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  return fromData("EC", params);
}

Pkey ed25519PublicKey(ByteView ecPoint) {
  // A bare Ed25519 key is 32 bytes and has no fixed first byte, so only the exact size tells.
  Bytes raw = ecPoint.size == 32 ? toBytes(ecPoint) : unwrapEcPoint(ecPoint, 0, 0);
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!pkey) throwOpenssl("Ed25519 public key from token attributes");
  return pkey;
}

void verifyWithPublicKey(EVP_PKEY* pkey, KeyFamily family, const AlgorithmInfo& alg, bool isDigest, ByteView message,
                         ByteView signature) {
  // An RSA signature is exactly the modulus's length (RFC 8017 §8.1.2, §8.2.2); OpenSSL pads a
  // shorter one with zeros and may accept it.
  if (family == KeyFamily::Rsa && signature.size != static_cast<std::size_t>(EVP_PKEY_get_size(pkey)))
    throw Error(ErrorCode::InvalidSignature, "signature is not valid");
  int rc;
  if (family == KeyFamily::Ed25519) {
    if (alg.ed25519ph)
      throw Error(ErrorCode::Unsupported, kEd25519phUnsupported);
    MdCtx md(EVP_MD_CTX_new());
    if (!md || EVP_DigestVerifyInit(md.get(), nullptr, nullptr, nullptr, pkey) != 1) throwOpenssl("verify init");
    rc = EVP_DigestVerify(md.get(), signature.data, signature.size, message.data, message.size);
  } else if (isDigest) {
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) throwOpenssl("verify init");
    if (EVP_PKEY_CTX_set_signature_md(ctx.get(), digestOf(alg)) != 1) throwOpenssl("verify digest");
    setRsaSignaturePadding(ctx.get(), alg);
    rc = EVP_PKEY_verify(ctx.get(), signature.data, signature.size, message.data, message.size);
  } else {
    MdCtx md(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!md || EVP_DigestVerifyInit(md.get(), &pctx, digestOf(alg), nullptr, pkey) != 1) throwOpenssl("verify init");
    setRsaSignaturePadding(pctx, alg);
    rc = EVP_DigestVerify(md.get(), signature.data, signature.size, message.data, message.size);
  }
  if (rc != 1) {
    // 0 is a mismatch; negative is a signature that does not even parse. Both are invalid.
    clearOpensslErrors();
    throw Error(ErrorCode::InvalidSignature, "signature is not valid");
  }
}

Bytes ecdsaRawToDer(ByteView raw) {
  if (raw.size == 0 || raw.size % 2 != 0) throw Error(ErrorCode::Internal, "the token returned a malformed ECDSA signature");
  const std::size_t half = raw.size / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw.data, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data + half, static_cast<int>(half), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    throwOpenssl("ECDSA signature");
  }
  int len = i2d_ECDSA_SIG(sig, nullptr);
  Bytes out(len > 0 ? static_cast<std::size_t>(len) : 0);
  uint8_t* p = out.data();
  int written = len > 0 ? i2d_ECDSA_SIG(sig, &p) : -1;
  ECDSA_SIG_free(sig);
  if (written != len || len <= 0) throwOpenssl("encode ECDSA signature");
  return out;
}

}  // namespace ekms::pkcs11
