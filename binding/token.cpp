#include "token.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "convert.hpp"
#include "ekms/pkcs11/token_import.hpp"
#include "ekms/pkcs11/token_key.hpp"
#include "key_handle.hpp"
#include "task.hpp"
#include "job_threads.hpp"

namespace binding {

namespace p11 = ekms::pkcs11;

namespace {

constexpr napi_type_tag kTokenTag = {0x5e2f246f538c3e21ULL, 0x867527d2b1466d47ULL};

struct Empty {};

// The PIN file's first line (a trailing newline is not part of the PIN). The messages name neither
// the file nor its content: a PIN given where the file's path belongs (pinFile: 918273) is still
// the PIN, and the caller knows which path it gave.
ekms::SecretBytes readPinFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ekms::Error(ekms::ErrorCode::KeyUnavailable, std::string("cannot read the PIN file (pinFile, EKMS_PKCS11_PIN_FILE): ") + std::strerror(errno));
  ekms::SecretBytes pin((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto eol = std::find_if(pin.begin(), pin.end(), [](uint8_t c) { return c == '\n' || c == '\r'; });
  pin.erase(eol, pin.end());
  if (pin.empty()) throw ekms::Error(ekms::ErrorCode::KeyUnavailable, "the PIN file (pinFile, EKMS_PKCS11_PIN_FILE) is empty");
  return pin;
}

std::optional<std::string> optionalString(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return stringArg(info, i, name);
}

// Keeps the JavaScript object alive until a task's result is delivered to it.
std::shared_ptr<Napi::ObjectReference> keepAlive(const Napi::CallbackInfo& info) {
  return std::make_shared<Napi::ObjectReference>(Napi::Persistent(info.This().As<Napi::Object>()));
}

ekms::KeyIdentity identityArgs(const Napi::CallbackInfo& info) {
  return {stringArg(info, 1, "keyId"), keySpecArg(info, 0, "keySpec"), stringArg(info, 2, "materialId")};
}

Napi::Value undefinedResult(Napi::Env env, Empty&) { return env.Undefined(); }

}  // namespace

Napi::Function Token::define(Napi::Env env) {
  return DefineClass(env, "Token",
                     {
                         InstanceMethod<&Token::open>("open"),
                         InstanceMethod<&Token::generateKey>("generateKey"),
                         InstanceMethod<&Token::keyHandle>("keyHandle"),
                         InstanceMethod<&Token::destroyKey>("destroyKey"),
                         InstanceMethod<&Token::listKeys>("listKeys"),
                         InstanceMethod<&Token::countOthers>("countOthers"),
                         InstanceMethod<&Token::info>("info"),
                         InstanceMethod<&Token::readAttributes>("readAttributes"),
                         InstanceMethod<&Token::random>("random"),
                         InstanceMethod<&Token::generateWrappingKey>("generateWrappingKey"),
                         InstanceMethod<&Token::unwrapKeyMaterial>("unwrapKeyMaterial"),
                         InstanceMethod<&Token::commitImported>("commitImported"),
                         InstanceMethod<&Token::connect>("connect"),
                         InstanceMethod<&Token::disconnect>("disconnect"),
                         InstanceMethod<&Token::connected>("connected"),
                         InstanceMethod<&Token::pinRefused>("pinRefused"),
                         InstanceMethod<&Token::close>("close"),
                     });
}

Token::Token(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Token>(info), env_(info.Env()) {
  info.This().As<Napi::Object>().TypeTag(&kTokenTag);
}

Token::~Token() {
  if (hookRegistered_) napi_remove_env_cleanup_hook(env_, onEnvTeardown, this);
  if (cache_) cache_->close();
}

// A worker thread or the process ending with the token still open: release the module (the
// last user's release runs C_Finalize) instead of leaving it to whenever handles are collected.
void Token::onEnvTeardown(void* self) {
  auto* t = static_cast<Token*>(self);
  t->hookRegistered_ = false;
  try {
    if (t->cache_) t->cache_->close();
    if (t->token_) t->token_->disconnect();
  } catch (...) {
    // Nothing can be reported from a teardown hook, and an exception here would abort.
  }
  t->token_.reset();
}

std::shared_ptr<p11::Token> Token::opened(Napi::Env env) const {
  if (!token_) throw nativeError(env, ekms::ErrorCode::KeyUnavailable, "the PKCS#11 token is not open");
  return token_;
}

// open(modulePath, tokenLabel, pin, pinFile, cacheCapacity, objectsLockPath) -> Promise<void>
Napi::Value Token::open(const Napi::CallbackInfo& info) {
  if (token_) throw Napi::TypeError::New(info.Env(), "the token is open already");
  p11::TokenOptions options;
  options.modulePath = stringArg(info, 0, "modulePath");
  options.label = stringArg(info, 1, "tokenLabel");
  const bool hasPin = info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined();
  if (hasPin) options.pin = secretArg(info, 2, "pin");
  std::optional<std::string> pinFile = optionalString(info, 3, "pinFile");
  if (hasPin == pinFile.has_value()) throw Napi::TypeError::New(info.Env(), "give either a PIN or a PIN file");
  std::size_t capacity = sizeArg(info, 4, "cacheCapacity");
  options.objectsLockPath = optionalString(info, 5, "objectsLockPath").value_or("");
  // One per token thread, and two more: for signatures made on the event loop's thread and for key
  // management (keys made, imported, destroyed) on libuv's pool, so neither waits for a token
  // thread to finish.
  // At most 64: HSMs limit sessions (CKR_SESSION_COUNT), and threads beyond them wait for one.
  options.sessions = std::min<std::size_t>(tokenThreadCount() + 2, 64);
  auto self = keepAlive(info);
  return Task<std::shared_ptr<p11::Token>>::start(
      info.Env(),
      [options = std::move(options), pinFile]() mutable {
        if (pinFile) options.pin = readPinFile(*pinFile);
        return p11::Token::open(std::move(options));
      },
      [this, self, capacity, pinFile](Napi::Env env, std::shared_ptr<p11::Token>& token) -> Napi::Value {
        token_ = std::move(token);
        pinFile_ = pinFile;
        cache_ = std::make_shared<ekms::KeyCache>(capacity);
        stopJobThreadsAtExit();  // after the module's own exit-time teardown was registered
        if (!hookRegistered_ && napi_add_env_cleanup_hook(env, onEnvTeardown, this) == napi_ok) hookRegistered_ = true;
        return env.Undefined();
      });
}

// generateKey(keySpec, keyId, materialId, keyUsage, storeId) -> Promise<{ tokenRef, publicKey?, handle }>
// The new key goes straight into the cache, so its first use needs no object search.
Napi::Value Token::generateKey(const Napi::CallbackInfo& info) {
  ekms::KeyIdentity id = identityArgs(info);
  std::string usage = stringArg(info, 3, "keyUsage");
  std::string storeId = stringArg(info, 4, "storeId");
  auto token = opened(info.Env());
  auto cache = cache_;
  return Task<p11::GeneratedTokenKey>::start(
      info.Env(), [token, id, usage, storeId]() { return p11::generateTokenKey(token, id, usage, storeId); },
      [token, cache, id, storeId](Napi::Env env, p11::GeneratedTokenKey& g) -> Napi::Value {
        auto source = std::make_shared<p11::TokenKeySource>(token, id, g.tokenRef, g.publicKey, std::vector<std::string>{storeId});
        cache->put(source->cacheKey(), g.key);
        Napi::Object out = Napi::Object::New(env);
        out.Set("tokenRef", g.tokenRef);
        if (!g.publicKey.empty()) out.Set("publicKey", toBuffer(env, g.publicKey));
        out.Set("handle", KeyHandle::create(env, source, cache));
        return out;
      });
}

// keyHandle(keySpec, keyId, materialId, tokenRef, publicKey?, owners?) -> KeyHandle (no token call
// yet). `owners`: of several objects with the tokenRef, the key uses one these stores made.
Napi::Value Token::keyHandle(const Napi::CallbackInfo& info) {
  ekms::KeyIdentity id = identityArgs(info);
  std::string tokenRef = stringArg(info, 3, "tokenRef");
  ekms::Bytes publicKey;
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) publicKey = bytesArg(info, 4, "publicKey");
  std::vector<std::string> owners;
  if (info.Length() > 5 && !info[5].IsUndefined()) owners = stringsArg(info, 5, "owners");
  auto source = std::make_shared<p11::TokenKeySource>(opened(info.Env()), std::move(id), std::move(tokenRef),
                                                      std::move(publicKey), std::move(owners));
  return KeyHandle::create(info.Env(), source, cache_);
}

// countOthers(tokenRef, owners): how many objects of tokenRef a store not in `owners` made.
Napi::Value Token::countOthers(const Napi::CallbackInfo& info) {
  std::string tokenRef = stringArg(info, 0, "tokenRef");
  std::vector<std::string> owners = stringsArg(info, 1, "owners");
  auto token = opened(info.Env());
  return Task<std::size_t>::start(
      info.Env(), [token, tokenRef, owners]() { return p11::countOthersTokenObjects(token, tokenRef, owners); },
      [](Napi::Env env, std::size_t& n) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(n)); });
}

// destroyKey(tokenRef, owners): destroys the objects of tokenRef that a store in `owners` made;
// resolves to { destroyed, othersKept }.
Napi::Value Token::destroyKey(const Napi::CallbackInfo& info) {
  std::string tokenRef = stringArg(info, 0, "tokenRef");
  std::vector<std::string> owners = stringsArg(info, 1, "owners");
  auto token = opened(info.Env());
  auto cache = cache_;
  return Task<p11::TokenDestruction>::start(
      info.Env(), [token, tokenRef, owners]() { return p11::destroyOwnedTokenKey(token, tokenRef, owners); },
      [cache, tokenRef](Napi::Env env, p11::TokenDestruction& r) -> Napi::Value {
        cache->evictKey(tokenRef.substr(0, tokenRef.find('/')));
        Napi::Object out = Napi::Object::New(env);
        out.Set("destroyed", Napi::Number::New(env, static_cast<double>(r.destroyed)));
        out.Set("othersKept", Napi::Number::New(env, static_cast<double>(r.othersKept)));
        return out;
      });
}

// listKeys(owners): the tokenRefs of the private and secret objects a store in `owners` made.
Napi::Value Token::listKeys(const Napi::CallbackInfo& info) {
  std::vector<std::string> owners = stringsArg(info, 0, "owners");
  auto token = opened(info.Env());
  return Task<std::vector<std::string>>::start(
      info.Env(), [token, owners]() { return p11::listTokenRefs(token, owners); },
      [](Napi::Env env, std::vector<std::string>& refs) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, refs.size());
        for (uint32_t i = 0; i < refs.size(); ++i) out.Set(i, refs[i]);
        return out;
      });
}

Napi::Value Token::info(const Napi::CallbackInfo& info) {
  p11::TokenInfo ti = opened(info.Env())->info();
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("label", ti.label);
  out.Set("manufacturer", ti.manufacturer);
  out.Set("model", ti.model);
  out.Set("serial", ti.serial);
  Napi::Array mechanisms = Napi::Array::New(env, ti.mechanisms.size());
  for (uint32_t i = 0; i < ti.mechanisms.size(); ++i) mechanisms.Set(i, ti.mechanisms[i]);
  out.Set("mechanisms", mechanisms);
  return out;
}

Napi::Value Token::readAttributes(const Napi::CallbackInfo& info) {
  std::string tokenRef = stringArg(info, 0, "tokenRef");
  auto token = opened(info.Env());
  return Task<p11::TokenKeyAttributes>::start(
      info.Env(), [token, tokenRef]() { return p11::readTokenKeyAttributes(token, tokenRef); },
      [](Napi::Env env, p11::TokenKeyAttributes& a) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("found", a.found);
        if (!a.found) return out;
        out.Set("objectClass", a.objectClass == CKO_SECRET_KEY ? "CKO_SECRET_KEY" : "CKO_PRIVATE_KEY");
        out.Set("sensitive", a.sensitive);
        out.Set("extractable", a.extractable);
        out.Set("neverExtractable", a.neverExtractable);
        out.Set("alwaysSensitive", a.alwaysSensitive);
        out.Set("token", a.onToken);
        out.Set("private", a.isPrivate);
        out.Set("unwrap", a.unwrap);
        out.Set("wrap", a.wrap);
        out.Set("id", toBuffer(env, a.id));
        out.Set("label", a.label);
        out.Set("valueRefused", a.valueRefused);
        out.Set("valueRv", a.valueRv);
        out.Set("hasPublicObject", a.hasPublicObject);
        return out;
      });
}

Napi::Value Token::random(const Napi::CallbackInfo& info) {
  std::size_t n = sizeArg(info, 0, "numberOfBytes");
  auto token = opened(info.Env());
  return Task<ekms::Bytes>::start(
      info.Env(), [token, n]() { return p11::tokenRandom(token, n); },
      [](Napi::Env env, ekms::Bytes& bytes) -> Napi::Value { return toBuffer(env, bytes); });
}

Napi::Value Token::generateWrappingKey(const Napi::CallbackInfo& info) {
  std::string keyId = stringArg(info, 0, "keyId");
  std::string wrappingKeyId = stringArg(info, 1, "wrappingKeyId");
  std::string wrappingKeySpec = stringArg(info, 2, "wrappingKeySpec");
  std::string algorithm = stringArg(info, 3, "algorithm");
  std::string keySpec = stringArg(info, 4, "keySpec");
  std::string storeId = stringArg(info, 5, "storeId");
  auto token = opened(info.Env());
  return Task<p11::TokenWrappingKey>::start(
      info.Env(),
      [token, keyId, wrappingKeyId, wrappingKeySpec, algorithm, keySpec, storeId]() {
        return p11::generateTokenWrappingKey(token, keyId, wrappingKeyId, wrappingKeySpec, algorithm, keySpec, storeId);
      },
      [](Napi::Env env, p11::TokenWrappingKey& k) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("tokenRef", k.tokenRef);
        out.Set("publicKey", toBuffer(env, k.publicKey));
        out.Set("guarded", Napi::Boolean::New(env, k.guarded));
        return out;
      });
}

Napi::Value Token::unwrapKeyMaterial(const Napi::CallbackInfo& info) {
  std::string keySpec = keySpecArg(info, 0, "keySpec");
  std::string keyUsage = stringArg(info, 1, "keyUsage");
  std::string keyId = stringArg(info, 2, "keyId");
  std::string storeId = stringArg(info, 3, "storeId");
  std::string wrappingRef = stringArg(info, 4, "wrappingRef");
  std::string algorithm = stringArg(info, 5, "algorithm");
  std::string pendingRef = stringArg(info, 6, "pendingRef");
  ekms::Bytes encrypted = bytesArg(info, 7, "encryptedKeyMaterial");
  auto token = opened(info.Env());
  return Task<p11::TokenImported>::start(
      info.Env(),
      [token, keySpec, keyUsage, keyId, storeId, wrappingRef, algorithm, pendingRef, encrypted = std::move(encrypted)]() {
        return p11::unwrapIntoToken(token, keySpec, keyUsage, keyId, storeId, wrappingRef, algorithm, pendingRef, encrypted);
      },
      [](Napi::Env env, p11::TokenImported& m) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("materialId", m.materialId);
        if (!m.legacyMaterialId.empty()) out.Set("legacyMaterialId", m.legacyMaterialId);
        if (!m.publicKey.empty()) out.Set("publicKey", toBuffer(env, m.publicKey));
        return out;
      });
}

Napi::Value Token::commitImported(const Napi::CallbackInfo& info) {
  std::string pendingRef = stringArg(info, 0, "pendingRef");
  std::string finalRef = stringArg(info, 1, "finalRef");
  std::vector<std::string> owners = stringsArg(info, 2, "owners");
  auto token = opened(info.Env());
  auto cache = cache_;
  return Task<bool>::start(
      info.Env(), [token, pendingRef, finalRef, owners]() { return p11::commitImportedObject(token, pendingRef, finalRef, owners); },
      [cache, finalRef](Napi::Env env, bool& renamed) -> Napi::Value {
        // A handle cached for an earlier object of this material (destroyed meanwhile) must go.
        cache->evictKey(finalRef.substr(0, finalRef.find('/')));
        return Napi::Boolean::New(env, renamed);
      });
}

Napi::Value Token::connect(const Napi::CallbackInfo& info) {
  auto token = opened(info.Env());
  return Task<Empty>::start(
      info.Env(),
      [token, pinFile = pinFile_]() {
        std::optional<ekms::SecretBytes> pin;
        if (pinFile) pin = readPinFile(*pinFile);
        token->connect(std::move(pin));
        return Empty{};
      },
      undefinedResult);
}

Napi::Value Token::disconnect(const Napi::CallbackInfo& info) {
  auto token = opened(info.Env());
  return Task<Empty>::start(
      info.Env(),
      [token]() {
        token->disconnect();  // waits for the operations in flight
        return Empty{};
      },
      undefinedResult);
}

Napi::Value Token::connected(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), token_ && token_->connected());
}

// pinRefused() -> string | null: why the token's user PIN is no longer presented (Pkcs11Backend
// makes the custom key store FAILED then).
Napi::Value Token::pinRefused(const Napi::CallbackInfo& info) {
  std::string why = token_ ? token_->pinRefused() : std::string();
  if (why.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), why);
}

// close() -> Promise<void>: waits for operations in flight, closes the sessions and releases the
// module; handles made by this token fail with KeyUnavailable afterwards.
Napi::Value Token::close(const Napi::CallbackInfo& info) {
  if (!token_) return Task<Empty>::start(info.Env(), []() { return Empty{}; }, undefinedResult);
  auto token = token_;
  auto cache = cache_;
  auto self = keepAlive(info);
  return Task<Empty>::start(
      info.Env(),
      [token, cache]() {
        cache->close();
        token->disconnect();
        return Empty{};
      },
      [this, self](Napi::Env env, Empty&) -> Napi::Value {
        token_.reset();
        if (hookRegistered_) napi_remove_env_cleanup_hook(env, onEnvTeardown, this);
        hookRegistered_ = false;
        return env.Undefined();
      });
}

}  // namespace binding
