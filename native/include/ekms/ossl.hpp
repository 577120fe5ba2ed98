// OpenSSL pieces the core's key code shares (software keys, key import, the PKCS#11 backend's
// public halves): owners for OpenSSL objects, the DER forms of keys, and the RSA parameters of
// AWS's algorithms. Internal to the native core; the binding sees no OpenSSL types.
#pragma once

#include <memory>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ekms/bytes.hpp"
#include "ekms/key_spec.hpp"

namespace ekms {

// Frees with OpenSSL's own function for the type (an empty deleter: the owner stays one pointer).
template <typename T, void (*Free)(T*)>
struct OsslFree {
  void operator()(T* p) const noexcept { Free(p); }
};

using Pkey = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, OsslFree<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Cipher = std::unique_ptr<EVP_CIPHER, OsslFree<EVP_CIPHER, EVP_CIPHER_free>>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using Pkcs8Info = std::unique_ptr<PKCS8_PRIV_KEY_INFO, OsslFree<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>>;
using Bn = std::unique_ptr<BIGNUM, OsslFree<BIGNUM, BN_free>>;
using BnCtx = std::unique_ptr<BN_CTX, OsslFree<BN_CTX, BN_CTX_free>>;
using EcGroup = std::unique_ptr<EC_GROUP, OsslFree<EC_GROUP, EC_GROUP_free>>;
using EcPoint = std::unique_ptr<EC_POINT, OsslFree<EC_POINT, EC_POINT_free>>;

// DER SubjectPublicKeyInfo, the form GetPublicKey returns.
Bytes spkiOf(EVP_PKEY* pkey);
// Throws InvalidInput when der is not (all of it) a SubjectPublicKeyInfo.
Pkey parseSpki(ByteView der);
// Whether an EC key names its curve (namedCurve) rather than spelling out its parameters. OpenSSL
// gives explicit parameters that match a standard curve that curve's name, so this asks for the
// encoding: RFC 5480 forbids explicit parameters in PKIX, and other implementations refuse them.
bool namesItsCurve(EVP_PKEY* pkey);
// The peer key of an ECDH agreement with `own`: a SubjectPublicKeyInfo naming own's curve whose
// point is valid there and not the point at infinity (which d2i takes). Throws InvalidInput
// otherwise, before any backend sees it: a token may fail on such a point with a general error.
Pkey parseEcdhPeer(EVP_PKEY* own, ByteView der);

// DER PKCS#8 PrivateKeyInfo, the form key material is kept in.
SecretBytes pkcs8Of(EVP_PKEY* pkey);
// The private key in der, a PKCS#8 PrivateKeyInfo that must be the whole input; null when it is
// not one or OpenSSL cannot use the key it holds. Its two steps are there on their own for
// callers that report the two failures differently. A null result clears OpenSSL's errors: the
// input is untrusted, so its failing is expected, not an OpenSSL fault.
Pkey parsePkcs8(ByteView der);
Pkcs8Info decodePkcs8(ByteView der);
Pkey keyOfPkcs8(const PKCS8_PRIV_KEY_INFO* p8);

// RSA-PSS (salt as long as the digest, MGF1 over the same digest) or PKCS#1 v1.5 for alg on a
// signing or verifying context; nothing for non-RSA algorithms.
void setRsaSignaturePadding(EVP_PKEY_CTX* ctx, const AlgorithmInfo& alg);
// RSA-OAEP with alg's digest for both the label hash and MGF1, as AWS's RSAES_OAEP_SHA_* are.
void setRsaOaep(EVP_PKEY_CTX* ctx, const AlgorithmInfo& alg);
// Throws InvalidInput when plaintext is too large for the key and alg.
Bytes rsaOaepEncrypt(EVP_PKEY* pkey, const AlgorithmInfo& alg, ByteView plaintext);

}  // namespace ekms
