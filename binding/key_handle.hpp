// KeyHandle: the opaque JavaScript object that stands for one material of one KMS key. It holds
// where the key comes from (a wrapped blob, a token object) and the engine's cache; the key
// itself is loaded into native memory on a worker thread when first used.
#pragma once

#include <memory>

#include <napi.h>

#include "ekms/key_cache.hpp"
#include "job_threads.hpp"

namespace binding {

class KeyHandle final : public Napi::ObjectWrap<KeyHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object create(Napi::Env env, std::shared_ptr<ekms::KeySource> source, std::shared_ptr<ekms::KeyCache> cache);
  static KeyHandle* unwrapArg(const Napi::CallbackInfo& info, std::size_t i);

  explicit KeyHandle(const Napi::CallbackInfo& info);

 private:
  // Resolves the key on the worker thread: from the cache, or by loading it.
  std::function<std::shared_ptr<const ekms::Key>()> resolver() const;

  Napi::Value sign(const Napi::CallbackInfo& info);
  Napi::Value verify(const Napi::CallbackInfo& info);
  Napi::Value encrypt(const Napi::CallbackInfo& info);
  Napi::Value decrypt(const Napi::CallbackInfo& info);
  Napi::Value reEncrypt(const Napi::CallbackInfo& info);
  Napi::Value generateDataKey(const Napi::CallbackInfo& info);
  Napi::Value generateDataKeyPair(const Napi::CallbackInfo& info);
  Napi::Value generateMac(const Napi::CallbackInfo& info);
  Napi::Value verifyMac(const Napi::CallbackInfo& info);
  Napi::Value deriveSharedSecret(const Napi::CallbackInfo& info);

  bool runsInline(const Napi::CallbackInfo& info, std::size_t allowArg, std::size_t inputBytes,
                  bool (ekms::Key::*cheapEnough)() const) const;

  std::shared_ptr<ekms::KeySource> source_;
  std::shared_ptr<ekms::KeyCache> cache_;
  Pool pool_ = Pool::Software;  // the threads its work goes to (job_threads.hpp)
};

}  // namespace binding
