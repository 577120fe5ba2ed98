// The public half of token keys, handled in software: building public keys from the attributes
// a token reports, and Verify, which needs no token round trip (the key is public; OpenSSL here
// is faster than a call into the token). RSA-OAEP Encrypt does the same with rsaOaepEncrypt and
// the DER forms come from spkiOf / parseSpki (ekms/ossl.hpp), shared with software keys.
#pragma once

#include "ekms/bytes.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/ossl.hpp"

namespace ekms::pkcs11 {

Pkey rsaPublicKey(ByteView modulus, ByteView exponent);
// ecPoint as CKA_EC_POINT holds it: a DER OCTET STRING around the encoded point (the standard
// form) or, from some tokens, the bare point.
Pkey ecPublicKey(const KeySpecInfo& spec, ByteView ecPoint);
Pkey ed25519PublicKey(ByteView ecPoint);

// Bytes of one coordinate (and of r and s in an ECDSA signature) for the spec's curve.
std::size_t ecFieldBytes(const KeySpecInfo& spec);
// DER OID of the spec's curve, as CKA_EC_PARAMS wants it.
Bytes ecParamsOf(const KeySpecInfo& spec);

// ED25519_PH_SHA_512 is refused for token keys: a PKCS#11 token may ignore CK_EDDSA_PARAMS
// (SoftHSM2 2.6.1 does, measured) and sign pure Ed25519 instead, which nothing could detect.
inline constexpr const char* kEd25519phUnsupported =
    "ED25519_PH_SHA_512 (Ed25519ph) is not supported for keys on a PKCS#11 token: tokens may ignore the "
    "prehash flag of CKM_EDDSA and sign pure Ed25519 instead";

// Throws InvalidSignature when the signature does not match.
void verifyWithPublicKey(EVP_PKEY* pkey, KeyFamily family, const AlgorithmInfo& alg, bool isDigest, ByteView message,
                         ByteView signature);

// PKCS#11's raw ECDSA signature (r || s, each padded to the field size) as DER, as AWS returns.
Bytes ecdsaRawToDer(ByteView raw);

}  // namespace ekms::pkcs11
