// The addon's entry point: registers Engine and KeyHandle and the few stateless functions.
#include <napi.h>

#include "addon_data.hpp"
#include "convert.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/data_keys.hpp"
#include "ekms/root_key.hpp"
#include "engine.hpp"
#include "key_handle.hpp"

namespace binding {

namespace {

Napi::Value opensslVersion(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ekms::opensslVersion()); }

// parseCiphertext(blob) -> { keyId, materialId }: which key a SYMMETRIC_DEFAULT ciphertext
// names, so Decrypt works without a KeyId. Throws EKMS_INVALID_CIPHERTEXT.
Napi::Value parseCiphertext(const Napi::CallbackInfo& info) {
  ekms::Bytes blob = bytesArg(info, 0, "ciphertext");
  try {
    ekms::CiphertextParts parts = ekms::parseCiphertext(blob);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("keyId", parts.keyId);
    out.Set("materialId", parts.materialId);
    return out;
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

Napi::Value randomBytes(const Napi::CallbackInfo& info) {
  std::size_t n = sizeArg(info, 0, "numberOfBytes");
  try {
    return toBuffer(info.Env(), ekms::randomBytes(n));
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);  // deleted by Node when this environment is torn down
  Napi::Function keyHandle = KeyHandle::define(env);
  data->keyHandle = Napi::Persistent(keyHandle);
  exports.Set("Engine", Engine::define(env));
  exports.Set("KeyHandle", keyHandle);
  exports.Set("opensslVersion", Napi::Function::New<opensslVersion>(env, "opensslVersion"));
  exports.Set("parseCiphertext", Napi::Function::New<parseCiphertext>(env, "parseCiphertext"));
  exports.Set("randomBytes", Napi::Function::New<randomBytes>(env, "randomBytes"));
  return exports;
}

}  // namespace binding

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return binding::init(env, exports); }

NODE_API_MODULE(embedded_kms, initAddon)
