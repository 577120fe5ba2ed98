// A loaded, initialised PKCS#11 module, shared by everything in this process that uses it.
//
// PKCS#11 allows one C_Initialize per module per process, and C_Finalize ends it for every user
// at once. So modules live in a process-wide registry (a static, guarded by a mutex: the
// resource is per process by nature) keyed by the module's real path: the first acquire()
// loads and initialises it (with CKF_OS_LOCKING_OK, without which SoftHSM2 does no locking of
// its own), later ones share it, and C_Finalize runs when the last Module is released — by a
// store's close, a worker thread's teardown or the process's. A module someone else in this
// process initialised first (CKR_CRYPTOKI_ALREADY_INITIALIZED, e.g. pkcs11js) is used but never
// finalised by us.
//
// Modules are opened with RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND so that a module linking OpenSSL
// binds to its own libcrypto rather than to the copy the node binary exports (DESIGN.md §7).
// ASan refuses RTLD_DEEPBIND, so the compile definition EKMS_NO_DEEPBIND (set by sanitizer
// builds) leaves it out. Modules are never dlclose()d: some register exit handlers or thread
// locals that would then point into unmapped code.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ekms/bytes.hpp"
#include "ekms/pkcs11/api.hpp"

namespace ekms::pkcs11 {

class Module {
 public:
  // Throws Error(KeyUnavailable) naming the path when it is missing or not a PKCS#11 module.
  static std::shared_ptr<Module> acquire(const std::string& path);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return fn_; }
  const std::string& path() const { return path_; }

  // Whether the caller's Module is this process's only use of the module, and we initialised it:
  // releasing it then finalises the module, and acquiring it again initialises it afresh.
  bool soleUse() const;

  // Login state belongs to the application (this process), not to a session or a store: a second
  // store logging in to a token this process is already logged in to gets
  // CKR_USER_ALREADY_LOGGED_IN and could not tell a wrong PIN. So the module remembers a keyed
  // digest (never the PIN) of the PIN that logged in to each token, until it is finalised.
  enum class PinCheck { Unknown, Matches, Differs };
  PinCheck checkLoggedInPin(const std::string& tokenKey, ByteView pin) const;
  void rememberLoggedInPin(const std::string& tokenKey, ByteView pin);

  // Serialises the calls that create or destroy token objects (Token::runChangingObjects) across
  // every store of this process using the module: SoftHSM2 is one instance per process, and its
  // object store fails such calls made at the same time by different stores' sessions as it fails
  // them for one store's (SoftHSMv2 #573), so a lock per store is not enough. Recursive, as the
  // per-store lock it replaces was.
  std::recursive_mutex& objectsMutex() { return objectsMutex_; }

  explicit Module(std::string path, CK_FUNCTION_LIST* fn) : path_(std::move(path)), fn_(fn) {}

 private:
  std::string path_;
  CK_FUNCTION_LIST* fn_;
  std::recursive_mutex objectsMutex_;
  mutable std::mutex pinMutex_;
  std::map<std::string, Bytes> pinDigests_;  // token key -> keyed digest of the PIN
};

}  // namespace ekms::pkcs11
