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

 private:
  Napi::Value checkValue(const Napi::CallbackInfo& info);
  Napi::Value generateKey(const Napi::CallbackInfo& info);
  Napi::Value keyHandle(const Napi::CallbackInfo& info);
  Napi::Value evict(const Napi::CallbackInfo& info);
  Napi::Value cachedKeys(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  std::shared_ptr<const ekms::RootKey> root_;
  std::shared_ptr<ekms::KeyCache> cache_;
};

}  // namespace binding
