#include "ekms/pkcs11/module.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <map>
#include <mutex>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ekms/root_key.hpp"

namespace ekms::pkcs11 {

namespace {

#ifdef EKMS_NO_DEEPBIND
constexpr int kDlopenFlags = RTLD_NOW | RTLD_LOCAL;
#else
constexpr int kDlopenFlags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#endif

struct Entry {
  void* dl = nullptr;  // kept for the life of the process (see module.hpp)
  CK_FUNCTION_LIST* fn = nullptr;
  std::size_t users = 0;
  bool finalizeOnRelease = false;
  std::unique_ptr<Module> module;
};

// Per process by nature (one C_Initialize per module per process), hence a static.
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Entry>& registry() {
  static auto* r = new std::map<std::string, Entry>();  // never destroyed: used by exit-time releases
  return *r;
}

[[noreturn]] void unavailable(const std::string& path, const std::string& why) {
  throw Error(ErrorCode::KeyUnavailable, "cannot load the PKCS#11 module " + path + ": " + why);
}

void release(const std::string& realPath) {
  std::lock_guard<std::mutex> lock(registryMutex());
  Entry& e = registry()[realPath];
  if (e.users == 0 || --e.users > 0) return;
  if (e.finalizeOnRelease) e.fn->C_Finalize(nullptr);
  e.finalizeOnRelease = false;
  e.module.reset();
}

// Keyed digests of PINs, so that memory holds no PIN in a form that can be replayed.
const SecretBytes& pinDigestKey() {
  static const SecretBytes key = randomSecret(32);
  return key;
}

Bytes pinDigest(const std::string& tokenKey, ByteView pin) {
  Bytes input(tokenKey.begin(), tokenKey.end());
  input.push_back(0);
  input.insert(input.end(), pin.data, pin.data + pin.size);
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(EVP_sha256(), pinDigestKey().data(), static_cast<int>(pinDigestKey().size()), input.data(), input.size(),
       out.data(), &len);
  OPENSSL_cleanse(input.data(), input.size());
  out.resize(len);
  return out;
}

}  // namespace

std::shared_ptr<Module> Module::acquire(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) unavailable(path, "no such file");
  const std::string real(resolved);

  std::lock_guard<std::mutex> lock(registryMutex());
  Entry& e = registry()[real];
  if (e.dl == nullptr) {
    void* dl = ::dlopen(real.c_str(), kDlopenFlags);
    if (dl == nullptr) {
      const char* why = ::dlerror();
      unavailable(path, why != nullptr ? why : "dlopen failed");
    }
    auto getList = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl, "C_GetFunctionList"));
    CK_FUNCTION_LIST* fn = nullptr;
    if (getList == nullptr || getList(&fn) != CKR_OK || fn == nullptr) {
      // Not ours to keep: it is not a PKCS#11 module, so nothing of it will run.
      ::dlclose(dl);
      unavailable(path, "it is not a PKCS#11 module (no usable C_GetFunctionList)");
    }
    e.dl = dl;
    e.fn = fn;
  }
  if (e.users == 0) {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = e.fn->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
      unavailable(path, "C_Initialize failed (" + rvName(rv) + ")");
    e.finalizeOnRelease = rv == CKR_OK;
    e.module = std::make_unique<Module>(real, e.fn);
  }
  ++e.users;
  return std::shared_ptr<Module>(e.module.get(), [real](Module*) { release(real); });
}

bool Module::soleUse() const {
  std::lock_guard<std::mutex> lock(registryMutex());
  const Entry& e = registry()[path_];
  return e.users == 1 && e.finalizeOnRelease;
}

Module::PinCheck Module::checkLoggedInPin(const std::string& tokenKey, ByteView pin) const {
  Bytes digest = pinDigest(tokenKey, pin);
  std::lock_guard<std::mutex> lock(pinMutex_);
  auto it = pinDigests_.find(tokenKey);
  if (it == pinDigests_.end()) return PinCheck::Unknown;
  return it->second.size() == digest.size() && CRYPTO_memcmp(it->second.data(), digest.data(), digest.size()) == 0
             ? PinCheck::Matches
             : PinCheck::Differs;
}

void Module::rememberLoggedInPin(const std::string& tokenKey, ByteView pin) {
  Bytes digest = pinDigest(tokenKey, pin);
  std::lock_guard<std::mutex> lock(pinMutex_);
  pinDigests_[tokenKey] = std::move(digest);
}

}  // namespace ekms::pkcs11
