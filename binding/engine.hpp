// Engine: one open key store's native side: its root key and its bounded cache of usable keys.
// It makes KeyHandles; close() wipes every cached key, and handles used afterwards fail.
#pragma once

#include <memory>

#include <napi.h>

#include "ekms/key_cache.hpp"
#include "ekms/root_key.hpp"

namespace binding {

class Engine final : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit Engine(const Napi::CallbackInfo& info);

  // For the binding's other modules (import.cpp): the Engine passed as argument i (checked by
  // its type tag), and its current root key and key cache.
  static Engine* unwrapArg(const Napi::CallbackInfo& info, std::size_t i);
  std::shared_ptr<const ekms::RootKey> rootKey() const { return root_; }
  std::shared_ptr<ekms::KeyCache> keyCache() const { return cache_; }

 private:
  Napi::Value checkValue(const Napi::CallbackInfo& info);
  Napi::Value generateKey(const Napi::CallbackInfo& info);
  Napi::Value keyHandle(const Napi::CallbackInfo& info);
  Napi::Value evict(const Napi::CallbackInfo& info);
  Napi::Value cachedKeys(const Napi::CallbackInfo& info);
  Napi::Value reloadRootKey(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  std::shared_ptr<const ekms::RootKey> root_;
  std::shared_ptr<ekms::KeyCache> cache_;
};

}  // namespace binding
