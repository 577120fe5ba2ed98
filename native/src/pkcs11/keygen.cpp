// Key generation on the token, for every KMS key spec, with the protections of token_key.hpp.
#include "internal.hpp"

namespace ekms::pkcs11 {

void secretKeyCapabilities(AttributeTemplate& t, KeyFamily family) {
  const bool aes = family == KeyFamily::Aes;
  t.flag(CKA_ENCRYPT, aes).flag(CKA_DECRYPT, aes).flag(CKA_SIGN, !aes).flag(CKA_VERIFY, !aes);
  t.flag(CKA_WRAP, false).flag(CKA_UNWRAP, false).flag(CKA_DERIVE, false);
}

// A key pair's objects get the flags of their family's operations only: HSMs refuse templates
// that name attributes their key type lacks (AWS CloudHSM: CKA_SIGN_RECOVER and
// CKA_VERIFY_RECOVER on any key, CKA_DERIVE on RSA keys, CKA_DECRYPT and CKA_UNWRAP on EC keys),
// and CKR_TEMPLATE_INCONSISTENT would fail every CreateKey. An RSA private key also says
// CKA_UNWRAP false, which every token knows for it.
void privateKeyCapabilities(AttributeTemplate& t, KeyFamily family, const Usage& u) {
  if (family == KeyFamily::Rsa) t.flag(CKA_SIGN, u.sign).flag(CKA_DECRYPT, u.encrypt).flag(CKA_UNWRAP, false);
  else t.flag(CKA_SIGN, u.sign).flag(CKA_DERIVE, u.derive);
}

void publicKeyCapabilities(AttributeTemplate& t, KeyFamily family, const Usage& u) {
  if (family == KeyFamily::Rsa) t.flag(CKA_VERIFY, u.sign).flag(CKA_ENCRYPT, u.encrypt).flag(CKA_WRAP, false);
  else t.flag(CKA_VERIFY, u.sign);
}

namespace {

// The protections every private or secret object gets (token_key.hpp).
AttributeTemplate protectedObject(ByteView id, const std::string& label) {
  AttributeTemplate t;
  t.flag(CKA_TOKEN, true).flag(CKA_PRIVATE, true).flag(CKA_SENSITIVE, true).flag(CKA_EXTRACTABLE, false);
  t.bytes(CKA_ID, id).bytes(CKA_LABEL, label);
  return t;
}

AttributeTemplate publicObject(ByteView id, const std::string& label) {
  AttributeTemplate t;
  t.flag(CKA_TOKEN, true).flag(CKA_PRIVATE, false);
  t.bytes(CKA_ID, id).bytes(CKA_LABEL, label);
  return t;
}

// Objects left by an attempt that failed half way (Token::run retries once): a second object with
// the same CKA_ID would make the key ambiguous.
void destroyLeftovers(Session& s, ByteView id) {
  CK_ATTRIBUTE tmpl[] = {{CKA_ID, const_cast<uint8_t*>(id.data), static_cast<CK_ULONG>(id.size)}};
  for (CK_OBJECT_HANDLE h : Token::findAll(s, tmpl, 1)) s.fn()->C_DestroyObject(s.handle(), h);
}

Pkey publicKeyOf(Session& s, const KeySpecInfo& spec, CK_OBJECT_HANDLE pub) {
  if (spec.family == KeyFamily::Rsa)
    return rsaPublicKey(Token::readAttribute(s, pub, CKA_MODULUS), Token::readAttribute(s, pub, CKA_PUBLIC_EXPONENT));
  Bytes point = Token::readAttribute(s, pub, CKA_EC_POINT);
  return spec.family == KeyFamily::Ed25519 ? ed25519PublicKey(point) : ecPublicKey(spec, point);
}

}  // namespace

Usage usageOf(const std::string& usage) {
  Usage u;
  if (usage == "ENCRYPT_DECRYPT") u.encrypt = true;
  else if (usage == "SIGN_VERIFY" || usage == "GENERATE_VERIFY_MAC") u.sign = true;
  else if (usage == "KEY_AGREEMENT") u.derive = true;
  else throw Error(ErrorCode::InvalidInput, "unknown key usage " + usage);
  return u;
}

std::string tokenRefOf(const KeyIdentity& id) { return id.keyId + '/' + id.materialId; }
std::string labelOf(const std::string& storeId, const std::string& keyId) { return "ekms " + storeId + ' ' + keyId; }

GeneratedTokenKey generateTokenKey(const std::shared_ptr<Token>& token, const KeyIdentity& id, const std::string& usage,
                                   const std::string& storeId) {
  const KeySpecInfo& spec = keySpec(id.keySpec);
  // PKCS#11 has ML-DSA only from 3.2 (CKM_ML_DSA_KEY_PAIR_GEN), which neither our headers nor
  // SoftHSM2 2.6.1 know: refused before anything is made on the token.
  if (spec.family == KeyFamily::MlDsa)
    throw Error(ErrorCode::Unsupported, std::string(spec.name) + " keys cannot be made on a PKCS#11 token: it needs PKCS#11 3.2's ML-DSA mechanisms");
  const Usage u = usageOf(usage);
  GeneratedTokenKey out;
  out.tokenRef = tokenRefOf(id);
  const Bytes ckaId(out.tokenRef.begin(), out.tokenRef.end());
  const std::string label = labelOf(storeId, id.keyId);

  if (spec.family == KeyFamily::Aes || spec.family == KeyFamily::Hmac) {
    const bool aes = spec.family == KeyFamily::Aes;
    const CK_MECHANISM_TYPE mech = aes ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN;
    token->require(mech, (std::string("a ") + spec.name + " key").c_str());
    AttributeTemplate t = protectedObject(ckaId, label);
    t.ulong(CKA_CLASS, CKO_SECRET_KEY).ulong(CKA_KEY_TYPE, aes ? CKK_AES : CKK_GENERIC_SECRET);
    t.ulong(CKA_VALUE_LEN, static_cast<CK_ULONG>(spec.bits / 8));
    secretKeyCapabilities(t, spec.family);
    token->runChangingObjects([&](Session& s) {
      destroyLeftovers(s, ckaId);
      CK_MECHANISM m{mech, nullptr, 0};
      CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
      check(s.fn()->C_GenerateKey(s.handle(), &m, t.data(), t.size(), &h), "C_GenerateKey");
      return h;
    });
    out.key = makeTokenKey(token, id, out.tokenRef, nullptr, {storeId});
    return out;
  }

  AttributeTemplate pub = publicObject(ckaId, label);
  AttributeTemplate priv = protectedObject(ckaId, label);
  CK_MECHANISM_TYPE mech;
  if (spec.family == KeyFamily::Rsa) {
    mech = CKM_RSA_PKCS_KEY_PAIR_GEN;
    const uint8_t f4[] = {0x01, 0x00, 0x01};
    pub.ulong(CKA_MODULUS_BITS, static_cast<CK_ULONG>(spec.bits)).bytes(CKA_PUBLIC_EXPONENT, ByteView(f4, sizeof f4));
  } else {
    mech = spec.family == KeyFamily::Ed25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
    pub.bytes(CKA_EC_PARAMS, ecParamsOf(spec));
  }
  publicKeyCapabilities(pub, spec.family, u);
  privateKeyCapabilities(priv, spec.family, u);
  token->require(mech, (std::string("a ") + spec.name + " key").c_str());

  Pkey publicKey = token->runChangingObjects([&](Session& s) {
    destroyLeftovers(s, ckaId);
    CK_MECHANISM m{mech, nullptr, 0};
    CK_OBJECT_HANDLE hPub = CK_INVALID_HANDLE, hPriv = CK_INVALID_HANDLE;
    check(s.fn()->C_GenerateKeyPair(s.handle(), &m, pub.data(), pub.size(), priv.data(), priv.size(), &hPub, &hPriv),
          "C_GenerateKeyPair");
    // No half-made keys: if the public part cannot be read, both objects go.
    ObjectGuard guardPub(s, hPub), guardPriv(s, hPriv);
    Pkey key = publicKeyOf(s, spec, hPub);
    guardPub.release();
    guardPriv.release();
    return key;
  });
  out.publicKey = spkiOf(publicKey.get());
  out.key = makeTokenKey(token, id, out.tokenRef, std::move(publicKey), {storeId});
  return out;
}

}  // namespace ekms::pkcs11
