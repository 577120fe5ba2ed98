// ECDSA public-key recovery, for EC private keys unwrapped into a PKCS#11 token: a token keeps
// no public point for a private key it unwrapped from PKCS#8 (SoftHSM2 2.6.1 stores CKA_EC_PARAMS
// and CKA_VALUE only), and the material never leaves it, so the public key is computed from two
// signatures the token makes. For a signature (r, s) over a digest with integer e, every point
// R with x(R) = r + j·n gives a candidate Q = r⁻¹(s·R − e·G); the key's point is in the
// candidate set of every signature, and two signatures over different digests leave one point.
// Public math on public values: nothing secret is involved.
#pragma once

#include "ekms/bytes.hpp"

namespace ekms::pkcs11 {

// The uncompressed public point (04 | X | Y) of the key that made both raw signatures (r || s,
// each as long as the curve's order, as PKCS#11's CKM_ECDSA returns them) over digest1 and
// digest2 (the input given to CKM_ECDSA). curveNid is OpenSSL's NID of the curve. Throws
// InvalidInput when the signatures are malformed or do not single out one point (as when they
// come from different keys).
Bytes recoverEcdsaPublicPoint(int curveNid, ByteView digest1, ByteView signature1, ByteView digest2, ByteView signature2);

}  // namespace ekms::pkcs11
