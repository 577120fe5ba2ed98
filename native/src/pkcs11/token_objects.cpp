// Token objects by tokenRef: loading a usable key, destroying, listing a store's objects, and
// reading attributes back for the tests that check the protections.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>

#include "internal.hpp"

namespace ekms::pkcs11 {

namespace {

Bytes idOf(const std::string& tokenRef) { return Bytes(tokenRef.begin(), tokenRef.end()); }

CK_OBJECT_CLASS secretClassOf(const KeySpecInfo& spec) {
  return spec.family == KeyFamily::Aes || spec.family == KeyFamily::Hmac ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
}

bool readFlag(Session& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL v = CK_FALSE;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  check(s.fn()->C_GetAttributeValue(s.handle(), h, &a, 1), "C_GetAttributeValue");
  return v == CK_TRUE;
}

// Runs `call` (one PKCS#11 call, returning its CK_RV) on an object found a moment ago, which
// another session may be destroying: the orphan sweep lists while an expiry or a deletion
// destroys, two processes may drain the same destructions. SoftHSM2 2.6 then fails calls on the
// object it is deleting (CKR_OBJECT_HANDLE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
// CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED) while it may still be found for a moment. So a failure
// asks whether the object is still found (by `findTmpl`): gone, false; still there, the call is
// made again a little later, and a failure that outlasts about half a second is thrown.
template <typename Call>
bool unlessDestroyed(Session& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE* findTmpl, const char* name, Call call) {
  for (int attempt = 0;; ++attempt) {
    CK_RV rv = call();
    if (rv == CKR_OK) return true;
    if (isSessionLost(rv)) check(rv, name);  // the session's fault, not the object's
    std::vector<CK_OBJECT_HANDLE> now = Token::findAll(s, findTmpl, 1);
    if (std::find(now.begin(), now.end(), h) == now.end()) return false;
    if (attempt == 50) check(rv, name);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<Bytes> readUnlessDestroyed(Session& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, CK_ATTRIBUTE* findTmpl) {
  Bytes out;
  const bool read = unlessDestroyed(s, h, findTmpl, "C_GetAttributeValue", [&] { return Token::tryReadAttribute(s, h, type, out); });
  return read ? std::optional<Bytes>(std::move(out)) : std::nullopt;
}

}  // namespace

std::shared_ptr<const Key> loadTokenKey(const std::shared_ptr<Token>& token, const KeyIdentity& id,
                                        const std::string& tokenRef, ByteView publicKeyDer, const std::vector<std::string>& owners) {
  const KeySpecInfo& spec = keySpec(id.keySpec);
  if (secretClassOf(spec) == CKO_SECRET_KEY) return makeTokenKey(token, id, tokenRef, nullptr, owners);
  if (publicKeyDer.size > 0) return makeTokenKey(token, id, tokenRef, parseSpki(publicKeyDer), owners);
  const Bytes ckaId = idOf(tokenRef);
  Pkey pub = token->run([&](Session& s) {
    CK_OBJECT_HANDLE h = Token::findOne(s, CKO_PUBLIC_KEY, ckaId);
    if (h == CK_INVALID_HANDLE)
      throw Error(ErrorCode::KeyMaterialGone,
                  "the public key of " + id.keyId + " is not on PKCS#11 token '" + token->label() + "'");
    if (spec.family == KeyFamily::Rsa)
      return rsaPublicKey(Token::readAttribute(s, h, CKA_MODULUS), Token::readAttribute(s, h, CKA_PUBLIC_EXPONENT));
    Bytes point = Token::readAttribute(s, h, CKA_EC_POINT);
    return spec.family == KeyFamily::Ed25519 ? ed25519PublicKey(point) : ecPublicKey(spec, point);
  });
  return makeTokenKey(token, id, tokenRef, std::move(pub), owners);
}

std::size_t destroyTokenKey(const std::shared_ptr<Token>& token, const std::string& tokenRef) {
  const Bytes ckaId = idOf(tokenRef);
  return token->runChangingObjects([&](Session& s) {
    CK_ATTRIBUTE tmpl[] = {{CKA_ID, const_cast<uint8_t*>(ckaId.data()), static_cast<CK_ULONG>(ckaId.size())}};
    std::vector<CK_OBJECT_HANDLE> found = Token::findAll(s, tmpl, 1);
    std::size_t destroyed = 0;
    for (CK_OBJECT_HANDLE h : found)
      if (unlessDestroyed(s, h, tmpl, "C_DestroyObject", [&] { return s.fn()->C_DestroyObject(s.handle(), h); })) ++destroyed;
    return destroyed;
  });
}

bool labelNamesOneOf(ByteView label, const std::vector<std::string>& owners) {
  const std::string_view text(reinterpret_cast<const char*>(label.data), label.size);
  return std::any_of(owners.begin(), owners.end(), [&](const std::string& owner) {
    const std::string prefix = "ekms " + owner + ' ';
    return !owner.empty() && text.substr(0, prefix.size()) == prefix;
  });
}

std::vector<CK_OBJECT_HANDLE> madeByOneOf(Session& s, std::vector<CK_OBJECT_HANDLE> found, CK_ATTRIBUTE* byId,
                                          const std::vector<std::string>& owners) {
  std::vector<CK_OBJECT_HANDLE> out;
  for (CK_OBJECT_HANDLE h : found) {
    std::optional<Bytes> label = readUnlessDestroyed(s, h, CKA_LABEL, byId);
    if (label && labelNamesOneOf(*label, owners)) out.push_back(h);
  }
  return out;
}

TokenDestruction destroyOwnedTokenKey(const std::shared_ptr<Token>& token, const std::string& tokenRef,
                                      const std::vector<std::string>& owners) {
  const Bytes ckaId = idOf(tokenRef);
  return token->runChangingObjects([&](Session& s) {
    CK_ATTRIBUTE tmpl[] = {{CKA_ID, const_cast<uint8_t*>(ckaId.data()), static_cast<CK_ULONG>(ckaId.size())}};
    TokenDestruction out;
    for (CK_OBJECT_HANDLE h : Token::findAll(s, tmpl, 1)) {
      std::optional<Bytes> label = readUnlessDestroyed(s, h, CKA_LABEL, tmpl);
      if (!label) continue;  // destroyed meanwhile
      if (!labelNamesOneOf(*label, owners))
        ++out.othersKept;
      else if (unlessDestroyed(s, h, tmpl, "C_DestroyObject", [&] { return s.fn()->C_DestroyObject(s.handle(), h); }))
        ++out.destroyed;
    }
    return out;
  });
}

std::size_t countOthersTokenObjects(const std::shared_ptr<Token>& token, const std::string& tokenRef,
                                    const std::vector<std::string>& owners) {
  const Bytes ckaId = idOf(tokenRef);
  return token->run([&](Session& s) {
    CK_ATTRIBUTE tmpl[] = {{CKA_ID, const_cast<uint8_t*>(ckaId.data()), static_cast<CK_ULONG>(ckaId.size())}};
    std::size_t others = 0;
    for (CK_OBJECT_HANDLE h : Token::findAll(s, tmpl, 1)) {
      std::optional<Bytes> label = readUnlessDestroyed(s, h, CKA_LABEL, tmpl);
      if (label && !labelNamesOneOf(*label, owners)) ++others;
    }
    return others;
  });
}

std::vector<std::string> listTokenRefs(const std::shared_ptr<Token>& token, const std::string& storeId) {
  return listTokenRefs(token, std::vector<std::string>{storeId});
}

std::vector<std::string> listTokenRefs(const std::shared_ptr<Token>& token, const std::vector<std::string>& owners) {
  return token->run([&](Session& s) {
    std::vector<std::string> refs;
    for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_SECRET_KEY}) {
      CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}};
      std::vector<CK_OBJECT_HANDLE> found = Token::findAll(s, tmpl, 1);
      for (CK_OBJECT_HANDLE h : found) {
        std::optional<Bytes> label = readUnlessDestroyed(s, h, CKA_LABEL, tmpl);
        if (!label || !labelNamesOneOf(*label, owners)) continue;
        std::optional<Bytes> id = readUnlessDestroyed(s, h, CKA_ID, tmpl);
        if (id) refs.emplace_back(id->begin(), id->end());
      }
    }
    return refs;
  });
}

TokenKeyAttributes readTokenKeyAttributes(const std::shared_ptr<Token>& token, const std::string& tokenRef) {
  const Bytes ckaId = idOf(tokenRef);
  return token->run([&](Session& s) {
    TokenKeyAttributes a;
    CK_OBJECT_HANDLE h = Token::findOne(s, CKO_PRIVATE_KEY, ckaId);
    a.objectClass = CKO_PRIVATE_KEY;
    if (h == CK_INVALID_HANDLE) {
      h = Token::findOne(s, CKO_SECRET_KEY, ckaId);
      a.objectClass = CKO_SECRET_KEY;
    }
    if (h == CK_INVALID_HANDLE) return a;
    a.found = true;
    a.sensitive = readFlag(s, h, CKA_SENSITIVE);
    a.extractable = readFlag(s, h, CKA_EXTRACTABLE);
    a.neverExtractable = readFlag(s, h, CKA_NEVER_EXTRACTABLE);
    a.alwaysSensitive = readFlag(s, h, CKA_ALWAYS_SENSITIVE);
    a.onToken = readFlag(s, h, CKA_TOKEN);
    a.isPrivate = readFlag(s, h, CKA_PRIVATE);
    a.unwrap = readFlag(s, h, CKA_UNWRAP);
    a.wrap = a.objectClass == CKO_SECRET_KEY && readFlag(s, h, CKA_WRAP);
    a.id = Token::readAttribute(s, h, CKA_ID);
    Bytes label = Token::readAttribute(s, h, CKA_LABEL);
    a.label.assign(label.begin(), label.end());
    // The secret itself: CKA_VALUE for EC, EdDSA and secret keys, CKA_PRIVATE_EXPONENT for RSA.
    CK_KEY_TYPE type = 0;
    CK_ATTRIBUTE typeAttr{CKA_KEY_TYPE, &type, sizeof type};
    check(s.fn()->C_GetAttributeValue(s.handle(), h, &typeAttr, 1), "C_GetAttributeValue");
    SecretBytes value(1024);
    CK_ATTRIBUTE secret{type == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, value.data(), 1024};
    CK_RV rv = s.fn()->C_GetAttributeValue(s.handle(), h, &secret, 1);
    a.valueRefused = rv != CKR_OK || secret.ulValueLen == CK_UNAVAILABLE_INFORMATION;
    a.valueRv = rvName(rv);
    a.hasPublicObject = Token::findOne(s, CKO_PUBLIC_KEY, ckaId) != CK_INVALID_HANDLE;
    return a;
  });
}

Bytes tokenRandom(const std::shared_ptr<Token>& token, std::size_t n) {
  return token->run([&](Session& s) {
    Bytes out(n);
    CK_RV rv = n == 0 ? CKR_OK : s.fn()->C_GenerateRandom(s.handle(), out.data(), n);
    if (rv == CKR_RANDOM_NO_RNG || rv == CKR_FUNCTION_NOT_SUPPORTED)
      throw Error(ErrorCode::Unsupported, "PKCS#11 token '" + token->label() + "' has no random number generator (" +
                                              rvName(rv) + ")");
    check(rv, "C_GenerateRandom");
    return out;
  });
}

TokenKeySource::TokenKeySource(std::shared_ptr<Token> token, KeyIdentity id, std::string tokenRef, Bytes publicKey,
                               std::vector<std::string> owners)
    : token_(std::move(token)), id_(std::move(id)), tokenRef_(std::move(tokenRef)), publicKey_(std::move(publicKey)),
      owners_(std::move(owners)), cacheKey_(cacheKeyOf(id_)) {}

std::shared_ptr<const Key> TokenKeySource::load() const { return loadTokenKey(token_, id_, tokenRef_, publicKey_, owners_); }

}  // namespace ekms::pkcs11
