// Token: one PKCS#11 token as JavaScript sees it, the native side of src/backends/pkcs11.ts.
//
//   const t = new Token();
//   await t.open(modulePath, tokenLabel, pin: Uint8Array | null, pinFile: string | null, cacheCapacity)
//   await t.generateKey(keySpec, keyId, materialId, keyUsage, storeId) -> { tokenRef, publicKey?, handle }
//   t.keyHandle(keySpec, keyId, materialId, tokenRef, publicKey?) -> KeyHandle
//   await t.destroyKey(tokenRef) -> number of objects destroyed
//   await t.listKeys(storeId) -> tokenRefs of the store's objects
//   await t.countOthers(tokenRef, owners) -> objects of tokenRef that no store in owners made
//   t.info() -> { label, manufacturer, model, serial, mechanisms }
//   await t.readAttributes(tokenRef) -> the protections of the key's object (tests)
//   await t.random(n) -> Buffer from C_GenerateRandom
//   await t.generateWrappingKey(keyId, wrappingKeyId, wrappingKeySpec, algorithm, storeId)
//     -> { tokenRef, publicKey }: GetParametersForImport's RSA key pair, made on the token
//   await t.unwrapKeyMaterial(keySpec, keyUsage, keyId, storeId, wrappingRef, algorithm, pendingRef,
//                             encryptedKeyMaterial) -> { materialId, publicKey? }: unwrapped inside
//     the token into an object named pendingRef (native/include/ekms/pkcs11/token_import.hpp)
//   await t.commitImported(pendingRef, finalRef) -> true when renamed, false when finalRef existed
//   await t.connect(); await t.disconnect(); t.connected(); await t.close()
//
// Everything that talks to the token runs on the thread pool. The PIN is read from pinFile in
// native code (it never becomes a JavaScript string) or copied from the given bytes; the
// TypeScript side wipes its copy. The session pool is sized to libuv's thread pool
// (UV_THREADPOOL_SIZE, default 4): no more operations can run at once.
#pragma once

#include <memory>
#include <optional>

#include <napi.h>

#include "ekms/key_cache.hpp"
#include "ekms/pkcs11/token.hpp"

namespace binding {

class Token final : public Napi::ObjectWrap<Token> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit Token(const Napi::CallbackInfo& info);
  ~Token() override;

 private:
  std::shared_ptr<ekms::pkcs11::Token> opened(Napi::Env env) const;
  static void onEnvTeardown(void* self);

  Napi::Value open(const Napi::CallbackInfo& info);
  Napi::Value generateKey(const Napi::CallbackInfo& info);
  Napi::Value keyHandle(const Napi::CallbackInfo& info);
  Napi::Value destroyKey(const Napi::CallbackInfo& info);
  Napi::Value listKeys(const Napi::CallbackInfo& info);
  Napi::Value countOthers(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value readAttributes(const Napi::CallbackInfo& info);
  Napi::Value random(const Napi::CallbackInfo& info);
  Napi::Value generateWrappingKey(const Napi::CallbackInfo& info);
  Napi::Value unwrapKeyMaterial(const Napi::CallbackInfo& info);
  Napi::Value commitImported(const Napi::CallbackInfo& info);
  Napi::Value connect(const Napi::CallbackInfo& info);
  Napi::Value disconnect(const Napi::CallbackInfo& info);
  Napi::Value connected(const Napi::CallbackInfo& info);
  Napi::Value pinRefused(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  napi_env env_;
  bool hookRegistered_ = false;
  std::shared_ptr<ekms::pkcs11::Token> token_;
  std::shared_ptr<ekms::KeyCache> cache_;
  // The PIN file the token was opened with: read again at each connect(), so that a user PIN
  // changed on the token is taken up by DisconnectCustomKeyStore and ConnectCustomKeyStore.
  std::optional<std::string> pinFile_;
};

}  // namespace binding
