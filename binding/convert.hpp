// Conversions between JavaScript values and the native core's types, and the one place native
// errors become JavaScript errors (with a `code` the TypeScript layer maps to AWS exceptions).
#pragma once

#include <napi.h>

#include <algorithm>

#include "ekms/bytes.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/error.hpp"
#include "ekms/key_spec.hpp"

namespace binding {

std::string stringArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
// An array of strings.
std::vector<std::string> stringsArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
ekms::Bytes bytesArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
ekms::SecretBytes secretArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
ekms::EncryptionContext contextArg(const Napi::CallbackInfo& info, std::size_t i);
std::size_t sizeArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
bool boolArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
// Known algorithm and key spec names only; the TS layer refuses unknown ones with AWS's words,
// so reaching these errors means a bug in the caller.
const ekms::AlgorithmInfo& algorithmArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);
std::string keySpecArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);

template <typename A>
Napi::Buffer<uint8_t> toBuffer(Napi::Env env, const std::vector<uint8_t, A>& bytes) {
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

// The caller's buffer for a result (argument i, a Uint8Array) when the call passed one with room
// for `size` bytes (exactly `size` when `exact`: a secret must fill its buffer whole); else nullptr.
uint8_t* callersRoom(const Napi::CallbackInfo& info, std::size_t i, std::size_t size, bool exact = false);

// The value of bytes made on the calling thread: copied into the caller's buffer (argument i, a
// Uint8Array) when there is one and they fit, and their length returned; else a Buffer of their
// own. A Buffer made here costs a backing store of its own (about 3 µs, with its later
// collection), where the caller's is a slice of Node's buffer pool.
template <typename A>
Napi::Value intoCallersBuffer(const Napi::CallbackInfo& info, std::size_t i, const std::vector<uint8_t, A>& bytes) {
  uint8_t* room = callersRoom(info, i, bytes.size());
  if (room == nullptr) return toBuffer(info.Env(), bytes);
  std::copy(bytes.begin(), bytes.end(), room);
  return Napi::Number::New(info.Env(), static_cast<double>(bytes.size()));
}

Napi::Error nativeError(Napi::Env env, ekms::ErrorCode code, const std::string& message);
// Rethrows the current exception as a JavaScript error (call inside a catch block).
[[noreturn]] void rethrowAsJs(Napi::Env env);

}  // namespace binding
