#include "key_handle.hpp"

#include "addon_data.hpp"
#include "ekms/data_keys.hpp"
#include "task.hpp"

namespace binding {

namespace {

// Distinguishes our KeyHandles from any other wrapped object passed in their place.
constexpr napi_type_tag kKeyHandleTag = {0x6b6d73686e646c65ULL, 0x9c1f3a7e52d04b11ULL};

using ekms::Bytes;
using ekms::SecretBytes;

struct Empty {};

}  // namespace

Napi::Function KeyHandle::define(Napi::Env env) {
  return DefineClass(env, "KeyHandle",
                     {
                         InstanceMethod<&KeyHandle::sign>("sign"),
                         InstanceMethod<&KeyHandle::verify>("verify"),
                         InstanceMethod<&KeyHandle::encrypt>("encrypt"),
                         InstanceMethod<&KeyHandle::decrypt>("decrypt"),
                         InstanceMethod<&KeyHandle::reEncrypt>("reEncrypt"),
                         InstanceMethod<&KeyHandle::generateDataKey>("generateDataKey"),
                         InstanceMethod<&KeyHandle::generateDataKeyPair>("generateDataKeyPair"),
                         InstanceMethod<&KeyHandle::generateMac>("generateMac"),
                         InstanceMethod<&KeyHandle::verifyMac>("verifyMac"),
                         InstanceMethod<&KeyHandle::deriveSharedSecret>("deriveSharedSecret"),
                     });
}

KeyHandle::KeyHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KeyHandle>(info) {
  // Only create() may make one: it fills source_ and cache_ right after construction.
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (data == nullptr || !data->constructingHandle)
    throw Napi::TypeError::New(info.Env(), "KeyHandle cannot be constructed from JavaScript");
  info.This().As<Napi::Object>().TypeTag(&kKeyHandleTag);
}

Napi::Object KeyHandle::create(Napi::Env env, std::shared_ptr<ekms::KeySource> source, std::shared_ptr<ekms::KeyCache> cache) {
  auto* data = env.GetInstanceData<AddonData>();
  data->constructingHandle = true;
  Napi::Object obj;
  try {
    obj = data->keyHandle.New({});
  } catch (...) {
    data->constructingHandle = false;
    throw;
  }
  data->constructingHandle = false;
  KeyHandle* handle = Unwrap(obj);
  handle->pool_ = source->onToken() ? Pool::Token : Pool::Software;
  handle->cache_ = std::move(cache);
  handle->source_ = std::move(source);
  return obj;
}

KeyHandle* KeyHandle::unwrapArg(const Napi::CallbackInfo& info, std::size_t i) {
  Napi::Value v = info.Length() > i ? info[i] : info.Env().Undefined();
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kKeyHandleTag))
    throw Napi::TypeError::New(info.Env(), "expected a KeyHandle");
  return Unwrap(v.As<Napi::Object>());
}

std::function<std::shared_ptr<const ekms::Key>()> KeyHandle::resolver() const {
  // Copies of the shared pointers keep the source and cache alive while work is in flight,
  // even if this handle is collected meanwhile.
  return [source = source_, cache = cache_]() { return cache->get(*source); };
}

// The largest input run inline: above every KMS limit on these operations (4 KiB plaintext and
// MAC message, 6 KiB ciphertext, 1 KiB data key), so only malformed calls take the pool.
constexpr std::size_t kInlineMaxBytes = 8 * 1024;

bool KeyHandle::runsInline(const Napi::CallbackInfo& info, std::size_t allowArg, std::size_t inputBytes,
                           bool (ekms::Key::*cheapEnough)() const) const {
  // The caller allows it (src/operations/inline-budget.ts: a bounded number per event-loop turn,
  // so a loop of awaited calls still gives timers and I/O their turn).
  if (info.Length() <= allowArg || !info[allowArg].IsBoolean() || !info[allowArg].As<Napi::Boolean>().Value()) return false;
  if (inputBytes > kInlineMaxBytes) return false;
  // Only a key already unwrapped: a first use (unwrapping, parsing) goes to the thread pool.
  std::shared_ptr<const ekms::Key> key = cache_->peek(source_->cacheKey());
  return key != nullptr && ((*key).*cheapEnough)();
}

Napi::Value KeyHandle::sign(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  bool isDigest = boolArg(info, 1, "isDigest");
  SecretBytes message = secretArg(info, 2, "message");  // Sign/Verify messages are sensitive (AWS model)
  const bool inlineNow = runsInline(info, 3, message.size(), &ekms::Key::cheapToSignInline);
  return Task<Bytes>::startOrValue(
      info.Env(), [key = resolver(), &alg, isDigest, message = std::move(message)]() { return key()->sign(alg, isDigest, message); },
      [&info](Napi::Env, Bytes& sig) { return intoCallersBuffer(info, 4, sig); },
      [](Napi::Env env, Bytes& sig) -> Napi::Value { return toBuffer(env, sig); }, inlineNow, pool_);
}

Napi::Value KeyHandle::verify(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  bool isDigest = boolArg(info, 1, "isDigest");
  SecretBytes message = secretArg(info, 2, "message");  // Sign/Verify messages are sensitive (AWS model)
  Bytes signature = bytesArg(info, 3, "signature");
  const bool inlineNow = runsInline(info, 4, message.size(), &ekms::Key::cheapToVerifyInline);
  return Task<Empty>::startOrValue(
      info.Env(),
      [key = resolver(), &alg, isDigest, message = std::move(message), signature = std::move(signature)]() {
        key()->verify(alg, isDigest, message, signature);
        return Empty{};
      },
      [](Napi::Env env, Empty&) -> Napi::Value { return env.Undefined(); }, inlineNow, pool_);
}

Napi::Value KeyHandle::encrypt(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  SecretBytes plaintext = secretArg(info, 1, "plaintext");
  ekms::EncryptionContext context = contextArg(info, 2);
  const bool inlineNow = runsInline(info, 3, plaintext.size(), &ekms::Key::cheapToEncryptInline);
  return Task<Bytes>::startOrValue(
      info.Env(),
      [key = resolver(), &alg, plaintext = std::move(plaintext), context = std::move(context)]() {
        return key()->encrypt(alg, plaintext, context);
      },
      [&info](Napi::Env, Bytes& ct) { return intoCallersBuffer(info, 4, ct); },
      [](Napi::Env env, Bytes& ct) -> Napi::Value { return toBuffer(env, ct); }, inlineNow, pool_);
}

Napi::Value KeyHandle::decrypt(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  Bytes ciphertext = bytesArg(info, 1, "ciphertext");
  ekms::EncryptionContext context = contextArg(info, 2);
  const bool inlineNow = runsInline(info, 3, ciphertext.size(), &ekms::Key::cheapToDecryptInline);
  return Task<SecretBytes>::startOrValue(
      info.Env(),
      [key = resolver(), &alg, ciphertext = std::move(ciphertext), context = std::move(context)]() {
        return key()->decrypt(alg, ciphertext, context);
      },
      [](Napi::Env env, SecretBytes& pt) -> Napi::Value { return toBuffer(env, pt); }, inlineNow, pool_);
}

Napi::Value KeyHandle::reEncrypt(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "sourceAlgorithm");
  Bytes ciphertext = bytesArg(info, 1, "ciphertext");
  ekms::EncryptionContext context = contextArg(info, 2);
  KeyHandle* destination = unwrapArg(info, 3);
  const auto& dstAlg = algorithmArg(info, 4, "destinationAlgorithm");
  ekms::EncryptionContext dstContext = contextArg(info, 5);
  // Work that involves a token key waits on its token, so it goes to the token threads.
  const Pool pool = pool_ == Pool::Token || destination->pool_ == Pool::Token ? Pool::Token : Pool::Software;
  return Task<Bytes>::start(
      info.Env(),
      [key = resolver(), dst = destination->resolver(), &alg, &dstAlg, ciphertext = std::move(ciphertext),
       context = std::move(context), dstContext = std::move(dstContext)]() {
        return ekms::reEncrypt(*key(), alg, ciphertext, context, *dst(), dstAlg, dstContext);
      },
      [](Napi::Env env, Bytes& ct) -> Napi::Value { return toBuffer(env, ct); }, false, pool);
}

Napi::Value KeyHandle::generateDataKey(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  std::size_t n = sizeArg(info, 1, "numberOfBytes");
  ekms::EncryptionContext context = contextArg(info, 2);
  bool withPlaintext = boolArg(info, 3, "withPlaintext");
  const bool inlineNow = runsInline(info, 4, n, &ekms::Key::cheapToRunInline);
  const auto toJs = [withPlaintext](Napi::Env env, ekms::DataKey& dk) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("ciphertext", toBuffer(env, dk.ciphertext));
    if (withPlaintext) out.Set("plaintext", toBuffer(env, dk.plaintext));
    return out;
  };
  return Task<ekms::DataKey>::startOrValue(
      info.Env(),
      [key = resolver(), &alg, n, context = std::move(context), withPlaintext]() {
        return ekms::generateDataKey(*key(), alg, n, context, withPlaintext);
      },
      // Made here: the ciphertext into the caller's buffer (argument 5) and the plaintext into the
      // other (6, exactly its size: it must fill it) when they have room (convert.hpp), and the
      // ciphertext's length returned.
      [&info, withPlaintext, toJs](Napi::Env env, ekms::DataKey& dk) -> Napi::Value {
        uint8_t* room = callersRoom(info, 5, dk.ciphertext.size());
        uint8_t* ptRoom = withPlaintext ? callersRoom(info, 6, dk.plaintext.size(), true) : nullptr;
        if (room == nullptr || (withPlaintext && ptRoom == nullptr)) return toJs(env, dk);
        std::copy(dk.ciphertext.begin(), dk.ciphertext.end(), room);
        if (withPlaintext) std::copy(dk.plaintext.begin(), dk.plaintext.end(), ptRoom);
        return Napi::Number::New(env, static_cast<double>(dk.ciphertext.size()));
      },
      toJs, inlineNow, pool_);
}

Napi::Value KeyHandle::generateDataKeyPair(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  std::string pairSpec = keySpecArg(info, 1, "keyPairSpec");
  ekms::EncryptionContext context = contextArg(info, 2);
  bool withPlaintext = boolArg(info, 3, "withPlaintext");
  return Task<ekms::DataKey>::start(
      info.Env(),
      [key = resolver(), &alg, pairSpec, context = std::move(context), withPlaintext]() {
        return ekms::generateDataKeyPair(*key(), alg, pairSpec, context, withPlaintext);
      },
      [withPlaintext](Napi::Env env, ekms::DataKey& dk) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("ciphertext", toBuffer(env, dk.ciphertext));
        out.Set("publicKey", toBuffer(env, dk.publicKey));
        if (withPlaintext) out.Set("privateKey", toBuffer(env, dk.plaintext));
        return out;
      },
      false, pool_);
}

Napi::Value KeyHandle::generateMac(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  SecretBytes message = secretArg(info, 1, "message");  // sensitive in AWS's model
  const bool inlineNow = runsInline(info, 2, message.size(), &ekms::Key::cheapToRunInline);
  return Task<Bytes>::startOrValue(
      info.Env(), [key = resolver(), &alg, message = std::move(message)]() { return key()->mac(alg, message); },
      [&info](Napi::Env, Bytes& mac) { return intoCallersBuffer(info, 3, mac); },
      [](Napi::Env env, Bytes& mac) -> Napi::Value { return toBuffer(env, mac); }, inlineNow, pool_);
}

Napi::Value KeyHandle::verifyMac(const Napi::CallbackInfo& info) {
  const auto& alg = algorithmArg(info, 0, "algorithm");
  SecretBytes message = secretArg(info, 1, "message");  // sensitive in AWS's model
  Bytes mac = bytesArg(info, 2, "mac");
  const bool inlineNow = runsInline(info, 3, message.size(), &ekms::Key::cheapToRunInline);
  return Task<Empty>::startOrValue(
      info.Env(),
      [key = resolver(), &alg, message = std::move(message), mac = std::move(mac)]() {
        ekms::verifyMac(*key(), alg, message, mac);
        return Empty{};
      },
      [](Napi::Env env, Empty&) -> Napi::Value { return env.Undefined(); }, inlineNow, pool_);
}

Napi::Value KeyHandle::deriveSharedSecret(const Napi::CallbackInfo& info) {
  Bytes peer = bytesArg(info, 0, "publicKey");
  const bool inlineNow = runsInline(info, 1, peer.size(), &ekms::Key::cheapToDeriveInline);
  return Task<SecretBytes>::startOrValue(
      info.Env(), [key = resolver(), peer = std::move(peer)]() { return key()->deriveSharedSecret(peer); },
      [](Napi::Env env, SecretBytes& secret) -> Napi::Value { return toBuffer(env, secret); }, inlineNow, pool_);
}

}  // namespace binding
