#include "engine.hpp"

#include "convert.hpp"
#include "ekms/software_key.hpp"
#include "key_handle.hpp"
#include "task.hpp"

namespace binding {

namespace {

constexpr napi_type_tag kEngineTag = {0x656b6d73656e6769ULL, 0x3d81c0a47be2590fULL};

struct NewKey {
  ekms::Bytes wrapped;
  ekms::Bytes publicKey;
  std::shared_ptr<const ekms::Key> key;
};

}  // namespace

Napi::Function Engine::define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod<&Engine::checkValue>("checkValue"),
                         InstanceMethod<&Engine::generateKey>("generateKey"),
                         InstanceMethod<&Engine::keyHandle>("keyHandle"),
                         InstanceMethod<&Engine::evict>("evict"),
                         InstanceMethod<&Engine::cachedKeys>("cachedKeys"),
                         InstanceMethod<&Engine::reloadRootKey>("reloadRootKey"),
                         InstanceMethod<&Engine::close>("close"),
                     });
}

// new Engine(rootKeyPath, createRootKey, cacheCapacity)
Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  std::string path = stringArg(info, 0, "rootKeyPath");
  bool create = boolArg(info, 1, "createRootKey");
  std::size_t capacity = sizeArg(info, 2, "cacheCapacity");
  try {
    root_ = ekms::RootKey::open(path, create);
  } catch (...) {
    rethrowAsJs(info.Env());
  }
  cache_ = std::make_shared<ekms::KeyCache>(capacity);
  info.This().As<Napi::Object>().TypeTag(&kEngineTag);
}

Engine* Engine::unwrapArg(const Napi::CallbackInfo& info, std::size_t i) {
  Napi::Value v = info.Length() > i ? info[i] : info.Env().Undefined();
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kEngineTag)) throw Napi::TypeError::New(info.Env(), "expected an Engine");
  return Unwrap(v.As<Napi::Object>());
}

Napi::Value Engine::checkValue(const Napi::CallbackInfo& info) { return toBuffer(info.Env(), root_->checkValue()); }

// generateKey(keySpec, keyId, materialId) -> Promise<{ wrapped, publicKey?, handle }>
// The new key goes straight into the cache, so its first use needs no unwrap.
Napi::Value Engine::generateKey(const Napi::CallbackInfo& info) {
  ekms::KeyIdentity id{stringArg(info, 1, "keyId"), keySpecArg(info, 0, "keySpec"), stringArg(info, 2, "materialId")};
  auto cache = cache_;
  auto root = root_;
  return Task<NewKey>::start(
      info.Env(),
      [root, id]() {
        ekms::GeneratedKey g = ekms::generateMaterial(id.keySpec);
        NewKey out;
        out.wrapped = root->wrap(id, g.material);
        out.publicKey = std::move(g.publicKey);
        out.key = ekms::loadSoftwareKey(id, g.material);
        return out;
      },
      [root, cache, id](Napi::Env env, NewKey& k) -> Napi::Value {
        auto source = std::make_shared<ekms::WrappedKeySource>(root, id, k.wrapped);
        cache->put(source->cacheKey(), k.key);
        Napi::Object out = Napi::Object::New(env);
        out.Set("wrapped", toBuffer(env, k.wrapped));
        if (!k.publicKey.empty()) out.Set("publicKey", toBuffer(env, k.publicKey));
        out.Set("handle", KeyHandle::create(env, source, cache));
        return out;
      });
}

// keyHandle(keySpec, keyId, materialId, wrapped) -> KeyHandle (nothing is unwrapped yet)
Napi::Value Engine::keyHandle(const Napi::CallbackInfo& info) {
  ekms::KeyIdentity id{stringArg(info, 1, "keyId"), keySpecArg(info, 0, "keySpec"), stringArg(info, 2, "materialId")};
  ekms::Bytes wrapped = bytesArg(info, 3, "wrapped");
  auto source = std::make_shared<ekms::WrappedKeySource>(root_, std::move(id), std::move(wrapped));
  return KeyHandle::create(info.Env(), source, cache_);
}

Napi::Value Engine::evict(const Napi::CallbackInfo& info) {
  cache_->evictKey(stringArg(info, 0, "keyId"));
  return info.Env().Undefined();
}

Napi::Value Engine::cachedKeys(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(cache_->size()));
}

// reloadRootKey(rootKeyPath) -> Buffer check value. Another process rotated (or restored) the
// store's root key: new handles and new keys use the key in this file from now on. Handles made
// earlier keep the root key their blob was wrapped under, so they go on working.
Napi::Value Engine::reloadRootKey(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "rootKeyPath");
  try {
    root_ = ekms::RootKey::open(path, false);
  } catch (...) {
    rethrowAsJs(info.Env());
  }
  return toBuffer(info.Env(), root_->checkValue());
}

Napi::Value Engine::close(const Napi::CallbackInfo& info) {
  cache_->close();
  return info.Env().Undefined();
}

}  // namespace binding
