#include "durability.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "convert.hpp"
#include "ekms/root_escrow.hpp"
#include "ekms/root_key.hpp"
#include "ekms/root_rotation.hpp"
#include "task.hpp"

namespace binding {

namespace {

// rootKeyCheck(path) -> Buffer: the public check value of the root key in a file.
Napi::Value rootKeyCheck(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "rootKeyPath");
  try {
    return toBuffer(info.Env(), ekms::rootKeyFileCheck(path));
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

// createRootKeyFile(path) -> Buffer check value; the file must not exist.
Napi::Value createRootKeyFile(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "rootKeyPath");
  try {
    return toBuffer(info.Env(), ekms::createRootKeyFile(path));
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

// new RootRewrapper(fromPath, toPath): both root keys loaded in native memory until close().
// rewrap() is synchronous on purpose: it runs inside the one SQLite transaction that re-wraps
// every key, and AES-GCM on a key-sized blob costs microseconds.
class RootRewrapper final : public Napi::ObjectWrap<RootRewrapper> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "RootRewrapper",
                       {
                           InstanceMethod<&RootRewrapper::rewrap>("rewrap"),
                           InstanceMethod<&RootRewrapper::fromCheck>("fromCheck"),
                           InstanceMethod<&RootRewrapper::toCheck>("toCheck"),
                           InstanceMethod<&RootRewrapper::close>("close"),
                       });
  }

  explicit RootRewrapper(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RootRewrapper>(info) {
    std::string from = stringArg(info, 0, "fromRootKeyPath");
    std::string to = stringArg(info, 1, "toRootKeyPath");
    try {
      rewrapper_ = std::make_unique<ekms::RootRewrapper>(ekms::RootKey::open(from, false), ekms::RootKey::open(to, false));
    } catch (...) {
      rethrowAsJs(info.Env());
    }
  }

 private:
  const ekms::RootRewrapper& live(Napi::Env env) const {
    if (!rewrapper_) throw nativeError(env, ekms::ErrorCode::InvalidInput, "the root key rewrapper is closed");
    return *rewrapper_;
  }

  // rewrap(keySpec, keyId, materialId, wrapped) -> Buffer
  Napi::Value rewrap(const Napi::CallbackInfo& info) {
    ekms::KeyIdentity id{stringArg(info, 1, "keyId"), keySpecArg(info, 0, "keySpec"), stringArg(info, 2, "materialId")};
    ekms::Bytes blob = bytesArg(info, 3, "wrapped");
    try {
      return toBuffer(info.Env(), live(info.Env()).rewrap(id, blob));
    } catch (...) {
      rethrowAsJs(info.Env());
    }
  }

  Napi::Value fromCheck(const Napi::CallbackInfo& info) { return toBuffer(info.Env(), live(info.Env()).fromCheck()); }
  Napi::Value toCheck(const Napi::CallbackInfo& info) { return toBuffer(info.Env(), live(info.Env()).toCheck()); }

  // Drops (and so wipes) both root keys now rather than at garbage collection.
  Napi::Value close(const Napi::CallbackInfo& info) {
    rewrapper_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<ekms::RootRewrapper> rewrapper_;
};

// escrowRootKey(rootKeyPath, passphrase: Uint8Array, escrowPath, logN) -> Promise<Buffer check>
// scrypt takes a good fraction of a second by design: it runs on the thread pool.
Napi::Value escrowRootKey(const Napi::CallbackInfo& info) {
  std::string rootPath = stringArg(info, 0, "rootKeyPath");
  auto passphrase = std::make_shared<ekms::SecretBytes>(secretArg(info, 1, "passphrase"));
  std::string escrowPath = stringArg(info, 2, "escrowPath");
  ekms::EscrowCost cost;
  // Out-of-range costs are refused by the core; 255 stands for any larger number.
  cost.logN = static_cast<uint8_t>(std::min<std::size_t>(sizeArg(info, 3, "logN"), 255));
  return Task<ekms::Bytes>::start(
      info.Env(), [=]() { return ekms::escrowRootKeyFile(rootPath, *passphrase, escrowPath, cost); },
      [](Napi::Env env, ekms::Bytes& check) -> Napi::Value { return toBuffer(env, check); });
}

// recoverRootKey(escrowPath, passphrase: Uint8Array, rootKeyPath) -> Promise<Buffer check>;
// rootKeyPath must not exist.
Napi::Value recoverRootKey(const Napi::CallbackInfo& info) {
  std::string escrowPath = stringArg(info, 0, "escrowPath");
  auto passphrase = std::make_shared<ekms::SecretBytes>(secretArg(info, 1, "passphrase"));
  std::string rootPath = stringArg(info, 2, "rootKeyPath");
  return Task<ekms::Bytes>::start(
      info.Env(), [=]() { return ekms::recoverRootKeyFile(escrowPath, *passphrase, rootPath); },
      [](Napi::Env env, ekms::Bytes& check) -> Napi::Value { return toBuffer(env, check); });
}

// escrowCheckValue(escrowPath) -> Buffer: which root key an escrow file holds.
Napi::Value escrowCheckValue(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "escrowPath");
  try {
    return toBuffer(info.Env(), ekms::escrowFileCheckValue(path));
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

}  // namespace

Napi::Object durabilityExports(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("rootKeyCheck", Napi::Function::New<rootKeyCheck>(env, "rootKeyCheck"));
  out.Set("createRootKeyFile", Napi::Function::New<createRootKeyFile>(env, "createRootKeyFile"));
  out.Set("RootRewrapper", RootRewrapper::define(env));
  out.Set("escrowRootKey", Napi::Function::New<escrowRootKey>(env, "escrowRootKey"));
  out.Set("recoverRootKey", Napi::Function::New<recoverRootKey>(env, "recoverRootKey"));
  out.Set("escrowCheckValue", Napi::Function::New<escrowCheckValue>(env, "escrowCheckValue"));
  return out;
}

}  // namespace binding
