// The addon's entry point: registers Engine and KeyHandle and the few stateless functions.
#include <napi.h>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdlib>

#include "addon_data.hpp"
#include "convert.hpp"
#include "durability.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/data_keys.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/root_key.hpp"
#include "ekms/secure_heap.hpp"
#include "ekms/wiping_heap.hpp"
#include "engine.hpp"
#include "env_number.hpp"
#include "import.hpp"
#include "job_threads.hpp"
#include "key_handle.hpp"
#include "token.hpp"

namespace binding {

namespace {

Napi::Value opensslVersion(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ekms::opensslVersion()); }
Napi::Value mlDsa(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ekms::mlDsaAvailable()); }

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

// EKMS_SECURE_HEAP_BYTES: the size of OpenSSL's secure heap for key material (see
// native/include/ekms/secure_heap.hpp); default 4 MiB, 0 turns it off, at most 1 GiB.
EnvNumber secureHeapSetting() { return readEnvNumber("EKMS_SECURE_HEAP_BYTES", std::size_t{4} << 20, 0, std::size_t{1} << 30); }

// envSettings() -> [{ name, value, problem, used }]: what the addon makes of the environment
// variables it reads itself; problem is '' or 'not-a-number' or 'too-large' (env_number.hpp).
Napi::Value envSettings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (const EnvNumber& n : {secureHeapSetting(), tokenThreadSetting()}) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", n.name);
    o.Set("value", n.value);
    o.Set("problem", n.problem == EnvNumber::Problem::NotANumber ? "not-a-number" : n.problem == EnvNumber::Problem::TooLarge ? "too-large" : "");
    o.Set("used", static_cast<double>(n.used));
    out.Set(out.Length(), o);
  }
  return out;
}

// secureHeap() -> { enabled, locked, size, used, wipesFrees }
Napi::Value secureHeap(const Napi::CallbackInfo& info) {
  const ekms::SecureHeapStatus s = ekms::secureHeapStatus();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("enabled", s.enabled);
  out.Set("locked", s.locked);
  out.Set("size", static_cast<double>(s.size));
  out.Set("used", static_cast<double>(s.used));
  out.Set("wipesFrees", ekms::wipeOpensslFrees());
  return out;
}

// For the ekms command's own process (bin/ekms.js), never for a host that loads the library: no
// core file, and no ptrace by other processes of the same user. Plaintexts and the PKCS#11 PIN's
// copy for re-login live on ordinary heaps (key material is in the secure heap, which core files
// leave out), and a core file lands in the working directory on many machines.
Napi::Value forbidCoreDumps(const Napi::CallbackInfo& info) {
  const rlimit none{0, 0};
  const bool limited = setrlimit(RLIMIT_CORE, &none) == 0;
  const bool undumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  return Napi::Boolean::New(info.Env(), limited && undumpable);
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  // Once per process (every environment loads this same copy of OpenSSL). The wiping functions
  // first: OpenSSL takes them only before its first allocation (the secure heap's is one).
  ekms::wipeOpensslFrees();
  ekms::initSecureHeap(secureHeapSetting().used);
  auto* data = new AddonData();
  env.SetInstanceData(data);  // deleted by Node when this environment is torn down
  Napi::Function keyHandle = KeyHandle::define(env);
  data->keyHandle = Napi::Persistent(keyHandle);
  exports.Set("Engine", Engine::define(env));
  exports.Set("KeyHandle", keyHandle);
  exports.Set("Token", Token::define(env));
  exports.Set("opensslVersion", Napi::Function::New<opensslVersion>(env, "opensslVersion"));
  exports.Set("mlDsa", Napi::Function::New<mlDsa>(env, "mlDsa"));
  exports.Set("parseCiphertext", Napi::Function::New<parseCiphertext>(env, "parseCiphertext"));
  exports.Set("randomBytes", Napi::Function::New<randomBytes>(env, "randomBytes"));
  exports.Set("secureHeap", Napi::Function::New<secureHeap>(env, "secureHeap"));
  exports.Set("envSettings", Napi::Function::New<envSettings>(env, "envSettings"));
  exports.Set("forbidCoreDumps", Napi::Function::New<forbidCoreDumps>(env, "forbidCoreDumps"));
  exports.Set("durability", durabilityExports(env));
  exports.Set("imports", importExports(env));
  return exports;
}

}  // namespace binding

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return binding::init(env, exports); }

NODE_API_MODULE(embedded_kms, initAddon)
