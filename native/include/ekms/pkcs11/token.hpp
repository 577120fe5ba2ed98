// One PKCS#11 token, found by its label (never by slot number: slots move, e.g. when
// softhsm2-util initialises a token), logged in with the user PIN, and a pool of logged-in
// sessions for the operations of one key store.
//
// The pool holds at most `sessions` sessions (the libuv thread pool's size: no more operations
// can run at once) and hands each to one operation at a time, so no session ever has two
// operations active (CKR_OPERATION_ACTIVE). Token::run() replaces a session that failed
// (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_CLOSED …)
// and retries once, then fails with KeyUnavailable.
//
// Object handles are cached by callers together with epoch(): it changes whenever handles may
// have changed meaning (a new connection, a lost session, a stale handle), so a handle from an
// older epoch is never used — after a re-login a stale number could name another key.
//
// The PIN stays in native memory (wiped when the token is destroyed) because a session opened
// after the token was removed and re-inserted must log in again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ekms/bytes.hpp"
#include "ekms/callers_thread.hpp"
#include "ekms/pkcs11/api.hpp"
#include "ekms/pkcs11/module.hpp"

namespace ekms::pkcs11 {

struct TokenOptions {
  std::string modulePath;
  std::string label;
  SecretBytes pin;
  std::size_t sessions = 4;
  // A file locked (flock) so that the processes sharing a store take turns at what SoftHSM2 cannot
  // do from several processes at once (ObjectsFileLock); empty: none.
  std::string objectsLockPath;
};

struct TokenInfo {
  std::string label;
  std::string manufacturer;
  std::string model;
  std::string serial;
  std::vector<std::string> mechanisms;  // names (CKM_…) of the mechanisms the token lists
};

class Token;

// A session lent by the pool for one operation. Returned to the pool when destroyed, unless
// fail() said it is broken.
class Session {
 public:
  Session(Token* token, CK_SESSION_HANDLE handle, std::shared_ptr<Module> module)
      : token_(token), handle_(handle), module_(std::move(module)) {}
  Session(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session& operator=(Session&&) = delete;
  ~Session();

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_FUNCTION_LIST* fn() const { return module_->fn(); }
  // The session must not be reused (lost, or left with an operation active).
  void fail() { failed_ = true; }

 private:
  Token* token_;
  CK_SESSION_HANDLE handle_;
  std::shared_ptr<Module> module_;
  bool failed_ = false;
};

class Token {
 public:
  // Loads the module, finds the token, logs in. Errors (KeyUnavailable) name the cause: module
  // missing or not PKCS#11, no token with that label, wrong PIN, locked PIN.
  static std::shared_ptr<Token> open(TokenOptions options);
  explicit Token(TokenOptions options);
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // Logs in (when not connected: loads the module, finds the token, opens the first session).
  // From here on the PIN is presented to the token again, once, even after the token refused
  // it (pinRefused); `pin`, when given, replaces it (a PIN file read again: the user PIN was
  // changed on the token).
  void connect(std::optional<SecretBytes> pin = std::nullopt);
  // Waits for the operations in flight, closes this token's sessions and releases the module.
  void disconnect();
  bool connected() const;
  // Why the user PIN is no longer presented to the token, or empty. A token that refused the PIN
  // at a login after the first (sessions lost while running: the HSM restarted, its user PIN
  // changed) is not asked again with it until connect(): each wrong PIN counts towards the
  // token locking the user out, for every process that shares the HSM user.
  std::string pinRefused() const;

  const std::string& label() const { return options_.label; }
  TokenInfo info() const;
  bool has(CK_MECHANISM_TYPE mechanism) const;
  // Throws Unsupported naming the mechanism and what needed it.
  void require(CK_MECHANISM_TYPE mechanism, const char* what) const;
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  Session acquire();
  // True when acquire() would not wait: a session is idle or another may be opened.
  bool sessionReady() const;

  // Runs f(Session&) with a pooled session; on a lost session or stale handle, retries once on a
  // fresh session, then throws KeyUnavailable.
  template <typename F>
  auto run(F&& f) -> decltype(f(std::declval<Session&>()));

  // Holds TokenOptions::objectsLockPath's lock while it lives: around object creation and
  // destruction, around a login, at which SoftHSM2 rewrites the token's own file, and from the
  // module's initialisation to the first login (connect). SoftHSM2's
  // file store failed a creation now and then (CKR_FUNCTION_FAILED), and lost new objects, while
  // another process logged in or changed objects: 4 processes x 150 operations on one store
  // failed 3 runs in 16; with creation and destruction locked, 2 in 10; with logins too, 2 in
  // 37. A file that cannot be opened (a store not created yet) locks nothing.
  class ObjectsFileLock {
   public:
    explicit ObjectsFileLock(const std::string& path);
    ~ObjectsFileLock();
    ObjectsFileLock(const ObjectsFileLock&) = delete;
    ObjectsFileLock& operator=(const ObjectsFileLock&) = delete;

   private:
    static thread_local int heldByThisThread_;
    int fd_ = -1;
  };

  // As run(), for work that creates or destroys token objects (key generation, unwrapping,
  // renaming, destruction): one at a time in this process. SoftHSM2 2.6.1 fails a creation with
  // CKR_GENERAL_ERROR now and then while another thread creates or destroys an object
  // (SoftHSMv2 #573), whichever store's session that thread uses: the lock is the module's
  // (Module::objectsMutex), shared by every store of the process, not this Token's; and the
  // store's lock file, shared by the processes using the store (ObjectsFileLock).
  // Reads and cryptographic calls are not held up. Never on the caller's thread (it may wait).
  template <typename F>
  auto runChangingObjects(F&& f) -> decltype(f(std::declval<Session&>())) {
    std::shared_ptr<Module> module = currentModule();
    if (!module) return run(std::forward<F>(f));  // not connected: run() says so
    std::lock_guard<std::recursive_mutex> lock(module->objectsMutex());
    ObjectsFileLock processes(options_.objectsLockPath);
    return run(std::forward<F>(f));
  }

  // Helpers for code holding a session.
  static CK_OBJECT_HANDLE findOne(Session& s, CK_OBJECT_CLASS cls, ByteView id);
  static std::vector<CK_OBJECT_HANDLE> findAll(Session& s, CK_ATTRIBUTE* tmpl, CK_ULONG count);
  static Bytes readAttribute(Session& s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
  // readAttribute's two calls, the module's failure returned (a broken answer still throws).
  static CK_RV tryReadAttribute(Session& s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, Bytes& out);

 private:
  friend class Session;
  void release(CK_SESSION_HANDLE handle, bool failed);
  // forceLogin: call C_Login even when the process is logged in already (connect(): the PIN is
  // checked every time a store connects).
  CK_SESSION_HANDLE openSession(const std::shared_ptr<Module>& module, CK_SLOT_ID& slot, bool forceLogin);
  void login(const std::shared_ptr<Module>& module, CK_SESSION_HANDLE session);
  // The slot of the token labelled options_.label, and its information (when `info` is given).
  CK_SLOT_ID findSlot(const std::shared_ptr<Module>& module, CK_TOKEN_INFO* info = nullptr) const;
  // findSlot, with the module initialised afresh between attempts when that may help (token.cpp).
  CK_SLOT_ID findSlotAfresh(std::shared_ptr<Module>& module, CK_TOKEN_INFO& info) const;
  std::string tokenKey() const;
  [[noreturn]] void lost(const std::string& why);
  std::shared_ptr<Module> currentModule() const;

  TokenOptions options_;
  std::mutex lifecycle_;  // serialises connect and disconnect

  // Guards options_.pin and pinRefused_. Taken after ObjectsFileLock, never before: a thread that
  // holds that lock (runChangingObjects) may open a session and log in.
  mutable std::mutex login_;
  std::string pinRefused_;
  std::atomic<bool> refused_{false};  // !pinRefused_.empty(), read without the lock

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable cv_;
  bool connected_ = false;
  std::shared_ptr<Module> module_;
  CK_SLOT_ID slot_ = 0;
  std::vector<CK_SESSION_HANDLE> idle_;
  std::size_t leased_ = 0;
  TokenInfo info_;
  std::set<CK_MECHANISM_TYPE> mechanisms_;

  std::atomic<uint64_t> epoch_{1};
};

std::string mechanismName(CK_MECHANISM_TYPE mechanism);

template <typename F>
auto Token::run(F&& f) -> decltype(f(std::declval<Session&>())) {
  std::string last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      Session session = acquire();
      try {
        return f(session);
      } catch (const RvError& e) {
        if (isSessionLost(e.rv()) || e.rv() == CKR_OPERATION_ACTIVE || e.rv() == CKR_BUFFER_TOO_SMALL)
          session.fail();
        throw;
      }
    } catch (const RvError& e) {
      if (!isSessionLost(e.rv()) && !isHandleStale(e.rv())) throw;
      epoch_.fetch_add(1, std::memory_order_acq_rel);
      last = e.what();
      // The retry (a fresh session, a new search for the object) is a worker thread's to make.
      if (CallersThread::active()) throw WouldBlock{};
    }
  }
  lost(last);
}

}  // namespace ekms::pkcs11
