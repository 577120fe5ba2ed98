#include "ekms/pkcs11/ec_recover.hpp"

#include <algorithm>
#include <vector>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "ekms/error.hpp"
#include "ekms/ossl.hpp"

namespace ekms::pkcs11 {

namespace {

[[noreturn]] void unrecoverable(const char* why) {
  clearOpensslErrors();
  throw Error(ErrorCode::InvalidInput, std::string("cannot recover the ECDSA public key: ") + why);
}

Bn newBn() {
  Bn b(BN_new());
  if (!b) throwOpenssl("BN_new");
  return b;
}

// The candidate public points (uncompressed) of one signature.
std::vector<Bytes> candidates(const EC_GROUP* group, const BIGNUM* order, const BIGNUM* field, BN_CTX* ctx, ByteView digest,
                              ByteView signature) {
  const std::size_t n = static_cast<std::size_t>(BN_num_bytes(order));
  if (signature.size != 2 * n) unrecoverable("a signature is not r || s for this curve");
  Bn r(BN_bin2bn(signature.data, static_cast<int>(n), nullptr));
  Bn s(BN_bin2bn(signature.data + n, static_cast<int>(n), nullptr));
  Bn e(BN_bin2bn(digest.data, static_cast<int>(digest.size), nullptr));
  if (!r || !s || !e) throwOpenssl("BN_bin2bn");
  if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), order) >= 0 || BN_cmp(s.get(), order) >= 0)
    unrecoverable("a signature is out of range");
  // ECDSA uses the leftmost bits of the digest, as many as the order has.
  const int orderBits = BN_num_bits(order);
  if (static_cast<int>(digest.size * 8) > orderBits && BN_rshift(e.get(), e.get(), static_cast<int>(digest.size * 8) - orderBits) != 1)
    throwOpenssl("BN_rshift");
  Bn rInv(BN_mod_inverse(nullptr, r.get(), order, ctx));
  if (!rInv) throwOpenssl("BN_mod_inverse");
  // Q = u1·G + u2·R with u1 = −e·r⁻¹ and u2 = s·r⁻¹ (mod n).
  Bn u1 = newBn(), u2 = newBn(), zero = newBn();
  BN_zero(zero.get());
  if (BN_mod_mul(u1.get(), e.get(), rInv.get(), order, ctx) != 1 || BN_mod_sub(u1.get(), zero.get(), u1.get(), order, ctx) != 1 ||
      BN_mod_mul(u2.get(), s.get(), rInv.get(), order, ctx) != 1)
    throwOpenssl("ECDSA recovery scalars");

  std::vector<Bytes> out;
  Bn x(BN_dup(r.get()));
  if (!x) throwOpenssl("BN_dup");
  // x(R) ≡ r (mod n) and x(R) < p: r itself, and r + n on curves whose field exceeds the order.
  for (; BN_cmp(x.get(), field) < 0; BN_add(x.get(), x.get(), order)) {
    for (int yBit = 0; yBit < 2; ++yBit) {
      EcPoint R(EC_POINT_new(group)), Q(EC_POINT_new(group));
      if (!R || !Q) throwOpenssl("EC_POINT_new");
      if (EC_POINT_set_compressed_coordinates(group, R.get(), x.get(), yBit, ctx) != 1) {
        clearOpensslErrors();  // no point with this x on the curve
        continue;
      }
      if (EC_POINT_mul(group, Q.get(), u1.get(), R.get(), u2.get(), ctx) != 1) throwOpenssl("EC_POINT_mul");
      if (EC_POINT_is_at_infinity(group, Q.get())) continue;
      std::size_t len = EC_POINT_point2oct(group, Q.get(), POINT_CONVERSION_UNCOMPRESSED, nullptr, 0, ctx);
      Bytes enc(len);
      if (len == 0 || EC_POINT_point2oct(group, Q.get(), POINT_CONVERSION_UNCOMPRESSED, enc.data(), len, ctx) != len)
        throwOpenssl("EC_POINT_point2oct");
      out.push_back(std::move(enc));
    }
  }
  return out;
}

}  // namespace

Bytes recoverEcdsaPublicPoint(int curveNid, ByteView digest1, ByteView signature1, ByteView digest2, ByteView signature2) {
  EcGroup group(EC_GROUP_new_by_curve_name(curveNid));
  if (!group) throwOpenssl("EC_GROUP_new_by_curve_name");
  BnCtx ctx(BN_CTX_new());
  Bn field = newBn();
  if (!ctx || EC_GROUP_get_curve(group.get(), field.get(), nullptr, nullptr, ctx.get()) != 1) throwOpenssl("EC_GROUP_get_curve");
  const BIGNUM* order = EC_GROUP_get0_order(group.get());
  if (digest1.size == digest2.size && std::equal(digest1.data, digest1.data + digest1.size, digest2.data))
    unrecoverable("the two digests are equal");
  std::vector<Bytes> a = candidates(group.get(), order, field.get(), ctx.get(), digest1, signature1);
  std::vector<Bytes> b = candidates(group.get(), order, field.get(), ctx.get(), digest2, signature2);
  std::vector<Bytes> common;
  for (const Bytes& p : a)
    if (std::find(b.begin(), b.end(), p) != b.end() && std::find(common.begin(), common.end(), p) == common.end()) common.push_back(p);
  if (common.size() != 1) unrecoverable(common.empty() ? "the signatures have no key in common" : "the signatures fit more than one key");
  return common.front();
}

}  // namespace ekms::pkcs11
