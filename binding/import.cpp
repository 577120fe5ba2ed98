// The addon's `imports` object: the native half of GetParametersForImport and ImportKeyMaterial
// (native/include/ekms/import.hpp). Key material crosses into JavaScript only wrapped: the
// caller's EncryptedKeyMaterial comes in, a blob wrapped under the root key goes out.
//
//   generateWrappingKey(engine, keyId, wrappingKeyId, wrappingKeySpec, algorithm, validToMs)
//     -> Promise<{ wrappedPrivateKey, publicKey, importToken }>
//   sealImportToken(engine, keyId, wrappingKeyId, wrappingKeySpec, algorithm, validToMs) -> Buffer
//     (the import token alone, for a wrapping key made elsewhere: on a PKCS#11 token)
//   openImportToken(engine, keyId, token)
//     -> { wrappingKeyId, wrappingKeySpec, algorithm, validToMs } | null (not a token of this
//        store for this key, or altered)
//   importKeyMaterial(engine, keySpec, keyId, wrappingKeyId, wrappingKeySpec, algorithm,
//                     wrappedPrivateKey, encryptedKeyMaterial, knownMaterialIds)
//     -> Promise<{ materialId, wrapped, publicKey? }>; EKMS_INVALID_CIPHERTEXT when the material
//        does not decrypt, EKMS_INVALID_INPUT (with what is wrong) when it does not fit keySpec.
//        knownMaterialIds: the key's material ids; HMAC material whose id under the first
//        derivation is among them keeps that id (ekms/import.hpp).
#include "import.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "convert.hpp"
#include "ekms/import.hpp"
#include "engine.hpp"
#include "task.hpp"

namespace binding {

namespace {

struct Imported {
  std::string materialId;
  ekms::Bytes wrapped;
  ekms::Bytes publicKey;
};

// An array of strings (the key's material ids).
std::vector<std::string> stringsArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = info.Length() > i ? info[i] : info.Env().Undefined();
  if (!v.IsArray()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value e = a.Get(k);
    if (!e.IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

int64_t millisArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = info.Length() > i ? info[i] : info.Env().Undefined();
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > 8.64e15) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a time in milliseconds");
  return static_cast<int64_t>(d);
}

// Arguments 1-5 of generateWrappingKey and sealImportToken: what an import token is bound to.
ekms::ImportParameters importParametersArg(const Napi::CallbackInfo& info) {
  ekms::ImportParameters p;
  p.keyId = stringArg(info, 1, "keyId");
  p.wrappingKeyId = stringArg(info, 2, "wrappingKeyId");
  p.wrappingKeySpec = stringArg(info, 3, "wrappingKeySpec");
  p.algorithm = stringArg(info, 4, "algorithm");
  p.validToMs = millisArg(info, 5, "validToMs");
  return p;
}

Napi::Value generateWrappingKey(const Napi::CallbackInfo& info) {
  Engine* engine = Engine::unwrapArg(info, 0);
  ekms::ImportParameters p = importParametersArg(info);
  return Task<ekms::WrappingKey>::start(
      info.Env(), [root = engine->rootKey(), p]() { return ekms::generateWrappingKey(*root, p); },
      [](Napi::Env env, ekms::WrappingKey& k) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("wrappedPrivateKey", toBuffer(env, k.wrappedPrivateKey));
        out.Set("publicKey", toBuffer(env, k.publicKey));
        out.Set("importToken", toBuffer(env, k.importToken));
        return out;
      });
}

Napi::Value sealImportToken(const Napi::CallbackInfo& info) {
  Engine* engine = Engine::unwrapArg(info, 0);
  ekms::ImportParameters p = importParametersArg(info);
  try {
    ekms::wrappingAlgorithm(p.algorithm);
    ekms::wrappingKeyBits(p.wrappingKeySpec);
    return toBuffer(info.Env(), ekms::sealImportToken(*engine->rootKey(), p));
  } catch (...) {
    rethrowAsJs(info.Env());
  }
  return info.Env().Undefined();
}

Napi::Value openImportToken(const Napi::CallbackInfo& info) {
  Engine* engine = Engine::unwrapArg(info, 0);
  std::string keyId = stringArg(info, 1, "keyId");
  ekms::Bytes token = bytesArg(info, 2, "importToken");
  ekms::ImportParameters p;
  try {
    if (!ekms::openImportToken(*engine->rootKey(), keyId, token, p)) return info.Env().Null();
  } catch (...) {
    rethrowAsJs(info.Env());
  }
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("wrappingKeyId", p.wrappingKeyId);
  out.Set("wrappingKeySpec", p.wrappingKeySpec);
  out.Set("algorithm", p.algorithm);
  out.Set("validToMs", Napi::Number::New(info.Env(), static_cast<double>(p.validToMs)));
  return out;
}

Napi::Value importKeyMaterial(const Napi::CallbackInfo& info) {
  Engine* engine = Engine::unwrapArg(info, 0);
  std::string keySpec = keySpecArg(info, 1, "keySpec");
  ekms::ImportParameters p;
  p.keyId = stringArg(info, 2, "keyId");
  p.wrappingKeyId = stringArg(info, 3, "wrappingKeyId");
  p.wrappingKeySpec = stringArg(info, 4, "wrappingKeySpec");
  p.algorithm = stringArg(info, 5, "algorithm");
  ekms::Bytes wrappedPrivateKey = bytesArg(info, 6, "wrappedPrivateKey");
  ekms::Bytes encrypted = bytesArg(info, 7, "encryptedKeyMaterial");
  std::vector<std::string> known = stringsArg(info, 8, "knownMaterialIds");
  return Task<Imported>::start(
      info.Env(),
      [root = engine->rootKey(), keySpec, p, wrappedPrivateKey = std::move(wrappedPrivateKey), encrypted = std::move(encrypted),
       known = std::move(known)]() {
        ekms::SecretBytes material = ekms::unwrapKeyMaterial(*root, p, wrappedPrivateKey, encrypted);
        ekms::CheckedMaterial checked = ekms::checkImportedMaterial(keySpec, p.keyId, material);
        Imported out;
        const bool legacy = !checked.legacyMaterialId.empty() && std::find(known.begin(), known.end(), checked.legacyMaterialId) != known.end();
        out.materialId = legacy ? checked.legacyMaterialId : checked.materialId;
        out.wrapped = root->wrap({p.keyId, keySpec, out.materialId}, checked.material);
        out.publicKey = std::move(checked.publicKey);
        return out;
      },
      [](Napi::Env env, Imported& m) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("materialId", m.materialId);
        out.Set("wrapped", toBuffer(env, m.wrapped));
        if (!m.publicKey.empty()) out.Set("publicKey", toBuffer(env, m.publicKey));
        return out;
      });
}

// importedMaterialIds(keySpec, keyId, material) -> { materialId, legacyMaterialId? }: the ids
// ImportKeyMaterial gives this material (ekms/import.hpp), so that fixtures recognise the material
// a key holds, and refuse material that does not fit the key spec before making the key.
Napi::Value importedMaterialIds(const Napi::CallbackInfo& info) {
  std::string keySpec = keySpecArg(info, 0, "keySpec");
  std::string keyId = stringArg(info, 1, "keyId");
  ekms::SecretBytes material = secretArg(info, 2, "material");
  ekms::CheckedMaterial checked;
  try {
    checked = ekms::checkImportedMaterial(keySpec, keyId, material);
  } catch (...) {
    rethrowAsJs(info.Env());
  }
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("materialId", checked.materialId);
  if (!checked.legacyMaterialId.empty()) out.Set("legacyMaterialId", checked.legacyMaterialId);
  return out;
}

}  // namespace

Napi::Object importExports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("generateWrappingKey", Napi::Function::New<generateWrappingKey>(env, "generateWrappingKey"));
  o.Set("sealImportToken", Napi::Function::New<sealImportToken>(env, "sealImportToken"));
  o.Set("openImportToken", Napi::Function::New<openImportToken>(env, "openImportToken"));
  o.Set("importKeyMaterial", Napi::Function::New<importKeyMaterial>(env, "importKeyMaterial"));
  o.Set("importedMaterialIds", Napi::Function::New<importedMaterialIds>(env, "importedMaterialIds"));
  return o;
}

}  // namespace binding
