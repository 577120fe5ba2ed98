#include "convert.hpp"

namespace binding {

namespace {

Napi::Value arg(const Napi::CallbackInfo& info, std::size_t i) { return info.Length() > i ? info[i] : info.Env().Undefined(); }

[[noreturn]] void typeError(Napi::Env env, const char* name, const char* expected) {
  throw Napi::TypeError::New(env, std::string(name) + " must be " + expected);
}

}  // namespace

std::string stringArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = arg(info, i);
  if (!v.IsString()) typeError(info.Env(), name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> stringsArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = arg(info, i);
  if (!v.IsArray()) typeError(info.Env(), name, "an array of strings");
  auto a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value e = a.Get(k);
    if (!e.IsString()) typeError(info.Env(), name, "an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

ekms::Bytes bytesArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = arg(info, i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    typeError(info.Env(), name, "a Uint8Array");
  auto a = v.As<Napi::Uint8Array>();
  return ekms::Bytes(a.Data(), a.Data() + a.ByteLength());
}

ekms::SecretBytes secretArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = arg(info, i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    typeError(info.Env(), name, "a Uint8Array");
  auto a = v.As<Napi::Uint8Array>();
  return ekms::SecretBytes(a.Data(), a.Data() + a.ByteLength());
}

ekms::EncryptionContext contextArg(const Napi::CallbackInfo& info, std::size_t i) {
  Napi::Value v = arg(info, i);
  ekms::EncryptionContext out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsObject()) typeError(info.Env(), "EncryptionContext", "an object of strings");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  for (uint32_t k = 0; k < names.Length(); ++k) {
    Napi::Value name = names.Get(k);
    Napi::Value value = o.Get(name);
    if (!value.IsString()) typeError(info.Env(), "EncryptionContext values", "strings");
    out.emplace_back(name.ToString().Utf8Value(), value.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::size_t sizeArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = arg(info, i);
  if (!v.IsNumber()) typeError(info.Env(), name, "a number");
  int64_t n = v.As<Napi::Number>().Int64Value();
  if (n < 0 || n > (1 << 20)) typeError(info.Env(), name, "between 0 and 1 MiB");
  return static_cast<std::size_t>(n);
}

bool boolArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  Napi::Value v = arg(info, i);
  if (!v.IsBoolean()) typeError(info.Env(), name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

const ekms::AlgorithmInfo& algorithmArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  std::string value = stringArg(info, i, name);
  try {
    return ekms::algorithm(value);
  } catch (const ekms::Error& e) {
    throw nativeError(info.Env(), e.code(), e.what());
  }
}

std::string keySpecArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  std::string value = stringArg(info, i, name);
  try {
    ekms::keySpec(value);
  } catch (const ekms::Error& e) {
    throw nativeError(info.Env(), e.code(), e.what());
  }
  return value;
}

Napi::Error nativeError(Napi::Env env, ekms::ErrorCode code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, ekms::errorCodeName(code)));
  return e;
}

void rethrowAsJs(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const ekms::Error& e) {
    throw nativeError(env, e.code(), e.what());
  } catch (const std::exception& e) {
    throw nativeError(env, ekms::ErrorCode::Internal, e.what());
  }
}

uint8_t* callersRoom(const Napi::CallbackInfo& info, std::size_t i, std::size_t size, bool exact) {
  if (info.Length() <= i || !info[i].IsTypedArray()) return nullptr;
  auto out = info[i].As<Napi::TypedArray>();
  if (out.TypedArrayType() != napi_uint8_array || out.ByteLength() < size || (exact && out.ByteLength() != size)) return nullptr;
  return out.As<Napi::Uint8Array>().Data();
}

}  // namespace binding
