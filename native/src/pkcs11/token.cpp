#include "ekms/pkcs11/token.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace ekms::pkcs11 {

namespace {

// PKCS#11 pads fixed-size text fields with blanks.
std::string fixedText(const CK_UTF8CHAR* text, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(text), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

[[noreturn]] void unavailable(const std::string& message) { throw Error(ErrorCode::KeyUnavailable, message); }

// More slots or mechanisms than any module has (SoftHSM2 lists 70 mechanisms): beyond it a
// count is a broken module's, not something to allocate for.
constexpr std::size_t kMaxListLength = 4096;

}  // namespace

// ----------------------------------------------------------------------------- ObjectsFileLock

thread_local int Token::ObjectsFileLock::heldByThisThread_ = 0;

Token::ObjectsFileLock::ObjectsFileLock(const std::string& path) {
  // Nested on this thread (a session replaced and logged in while objects are being changed): the
  // outer lock covers it, and a second descriptor's flock would wait for the first, held by this
  // very thread.
  if (path.empty() || heldByThisThread_ > 0) return;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) return;
  int rv;
  do rv = ::flock(fd_, LOCK_EX);
  while (rv != 0 && errno == EINTR);
  if (rv != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ++heldByThisThread_;
}

Token::ObjectsFileLock::~ObjectsFileLock() {
  if (fd_ < 0) return;
  --heldByThisThread_;
  ::close(fd_);  // closing the last descriptor releases the lock
}

// ----------------------------------------------------------------------------- Session

Session::Session(Session&& other) noexcept
    : token_(other.token_), handle_(other.handle_), module_(std::move(other.module_)), failed_(other.failed_) {
  other.token_ = nullptr;
}

Session::~Session() {
  if (token_ != nullptr) token_->release(handle_, failed_);
}

// ----------------------------------------------------------------------------- Token

std::shared_ptr<Token> Token::open(TokenOptions options) {
  auto token = std::make_shared<Token>(std::move(options));
  token->connect();
  return token;
}

Token::Token(TokenOptions options) : options_(std::move(options)) {
  if (options_.sessions == 0) options_.sessions = 1;
}

Token::~Token() {
  try {
    disconnect();
  } catch (...) {
    // Nothing a destructor can report; the sessions die with the module anyway.
  }
}

bool Token::connected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connected_;
}

std::string Token::tokenKey() const { return options_.label; }  // labels are unique (findSlot)

CK_SLOT_ID Token::findSlot(const std::shared_ptr<Module>& module, CK_TOKEN_INFO* info) const {
  CK_FUNCTION_LIST* fn = module->fn();
  CK_ULONG count = 0;
  check(fn->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList");
  std::vector<CK_SLOT_ID> slots(announcedLength(count, kMaxListLength, "C_GetSlotList"));
  if (count > 0) check(fn->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList");
  slots.resize(filledLength(count, slots.size(), "C_GetSlotList"));
  std::vector<CK_SLOT_ID> matches;
  std::string seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO ti{};
    if (fn->C_GetTokenInfo(slot, &ti) != CKR_OK) continue;
    std::string label = fixedText(ti.label, sizeof ti.label);
    if (!(ti.flags & CKF_TOKEN_INITIALIZED)) continue;
    if (label == options_.label) {
      matches.push_back(slot);
      if (info != nullptr) *info = ti;
    }
    seen += (seen.empty() ? "'" : ", '") + label + "'";
  }
  const std::string where = " in PKCS#11 module " + module->path();
  if (matches.empty())
    unavailable("no token labelled '" + options_.label + "'" + where +
                (seen.empty() ? " (it has no initialised token)" : " (its tokens: " + seen + ")"));
  if (matches.size() > 1) unavailable("more than one token is labelled '" + options_.label + "'" + where);
  return matches.front();
}

CK_SLOT_ID Token::findSlotAfresh(std::shared_ptr<Module>& module, CK_TOKEN_INFO& info) const {
  // SoftHSM2 reads its tokens' files when it is initialised, and rewrites a token's file at every
  // login: initialised while another process logs in, it may find the token unreadable, and then
  // reports it uninitialised until it is initialised again (6 processes opening stores at once:
  // 11 failed opens in 144). So a token not found is looked for again after initialising the
  // module afresh, when no other store of this process uses it; a label no token has costs those
  // few attempts before its error.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    try {
      return findSlot(module, &info);
    } catch (const Error&) {
      if (attempt == kAttempts || !module->soleUse()) throw;
    }
    module.reset();  // finalises it: ours was the only use
    std::this_thread::sleep_for(std::chrono::milliseconds(25 * attempt));
    module = Module::acquire(options_.modulePath);
  }
}

void Token::login(const std::shared_ptr<Module>& module, CK_SESSION_HANDLE session) {
  const std::string token = "PKCS#11 token '" + options_.label + "'";
  CK_RV rv = CKR_OK;
  std::string refusedBefore;
  bool otherPin = false;
  const auto tryLogin = [&] {
    // SoftHSM2 rewrites the token's file at a login: not while another process of the store
    // creates or destroys objects (ObjectsFileLock).
    ObjectsFileLock processes(options_.objectsLockPath);
    // One login at a time, so that a PIN the token refuses is presented once, not by every
    // thread that needed a session at that moment.
    std::lock_guard<std::mutex> lock(login_);
    if (!pinRefused_.empty()) {
      refusedBefore = pinRefused_;
      return;
    }
    rv = module->fn()->C_Login(session, CKU_USER, const_cast<CK_UTF8CHAR*>(options_.pin.data()),
                               static_cast<CK_ULONG>(options_.pin.size()));
    switch (rv) {
      case CKR_OK:
        module->rememberLoggedInPin(tokenKey(), options_.pin);
        break;
      case CKR_USER_ALREADY_LOGGED_IN:
        // Another store of this process logged in already; make sure it was with this PIN.
        otherPin = module->checkLoggedInPin(tokenKey(), options_.pin) == Module::PinCheck::Differs;
        break;
      case CKR_PIN_INCORRECT:
      case CKR_PIN_LEN_RANGE:
      case CKR_PIN_LOCKED:
      case CKR_PIN_EXPIRED:
        pinRefused_ = token + " refused the user PIN (" + rvName(rv) +
                      "), which is not presented again until the custom key store is disconnected and connected again";
        refused_.store(true, std::memory_order_release);
        break;
      default:
        break;
    }
  };
  tryLogin();
  // SoftHSM2 answers CKR_GENERAL_ERROR while another process rewrites the token's file (at its
  // own login); a moment later the login goes through. Not a judgement of the PIN, so trying
  // again counts nothing against it.
  for (int attempt = 1; rv == CKR_GENERAL_ERROR && refusedBefore.empty() && attempt < 4; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25 * attempt));
    tryLogin();
  }
  if (!refusedBefore.empty()) unavailable(refusedBefore);
  switch (rv) {
    case CKR_OK:
      return;
    case CKR_USER_ALREADY_LOGGED_IN:
      if (otherPin) unavailable("the PIN for " + token + " is incorrect (CKR_PIN_INCORRECT)");
      return;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
      unavailable("the PIN for " + token + " is incorrect (" + rvName(rv) + ")");
    case CKR_PIN_LOCKED:
      unavailable("the user PIN of " + token + " is locked (CKR_PIN_LOCKED); its security officer must unlock it");
    case CKR_PIN_EXPIRED:
      unavailable("the user PIN of " + token + " has expired (CKR_PIN_EXPIRED)");
    case CKR_USER_PIN_NOT_INITIALIZED:
      unavailable(token + " has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED)");
    default:
      if (isSessionLost(rv)) throw RvError("C_Login", rv);
      unavailable("login to " + token + " failed (" + rvName(rv) + ")");
  }
}

std::string Token::pinRefused() const {
  if (!refused_.load(std::memory_order_acquire)) return {};
  std::lock_guard<std::mutex> lock(login_);
  return pinRefused_;
}

CK_SESSION_HANDLE Token::openSession(const std::shared_ptr<Module>& module, CK_SLOT_ID& slot, bool forceLogin) {
  CK_FUNCTION_LIST* fn = module->fn();
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
  if (rv == CKR_SLOT_ID_INVALID || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED) {
    // The token may be back in another slot (re-inserted, or moved by re-initialisation).
    CK_SLOT_ID found = 0;
    try {
      found = findSlot(module);
    } catch (const Error&) {
      throw RvError("C_OpenSession", rv);
    }
    slot = found;
    rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
  }
  check(rv, "C_OpenSession");
  try {
    CK_SESSION_INFO si{};
    if (!forceLogin) check(fn->C_GetSessionInfo(session, &si), "C_GetSessionInfo");
    if (forceLogin || si.state != CKS_RW_USER_FUNCTIONS) login(module, session);
  } catch (...) {
    fn->C_CloseSession(session);
    throw;
  }
  return session;
}

void Token::connect(std::optional<SecretBytes> pin) {
  std::lock_guard<std::mutex> life(lifecycle_);
  {
    std::lock_guard<std::mutex> lock(login_);
    if (pin) options_.pin = std::move(*pin);
    pinRefused_.clear();
    refused_.store(false, std::memory_order_release);
  }
  {
    // Still connected (a refused PIN ended no session of ours): the next session logs in.
    std::lock_guard<std::mutex> lock(mutex_);
    if (connected_) return;
  }
  // From the module's initialisation (SoftHSM2 reads the token's file) to the first login (it
  // rewrites it), not while another process of the store does the same: one initialised during
  // another's login found the token missing, or its user PIN not initialised.
  ObjectsFileLock processes(options_.objectsLockPath);
  std::shared_ptr<Module> module = Module::acquire(options_.modulePath);
  // The token's information as found: asking again could meet the same rewrite of its file.
  CK_TOKEN_INFO ti{};
  CK_SLOT_ID slot = findSlotAfresh(module, ti);
  CK_FUNCTION_LIST* fn = module->fn();

  TokenInfo info;
  info.label = fixedText(ti.label, sizeof ti.label);
  info.manufacturer = fixedText(ti.manufacturerID, sizeof ti.manufacturerID);
  info.model = fixedText(ti.model, sizeof ti.model);
  info.serial = fixedText(ti.serialNumber, sizeof ti.serialNumber);
  if (ti.flags & CKF_USER_PIN_LOCKED)
    unavailable("the user PIN of PKCS#11 token '" + options_.label +
                "' is locked (CKR_PIN_LOCKED); its security officer must unlock it");

  CK_ULONG count = 0;
  check(fn->C_GetMechanismList(slot, nullptr, &count), "C_GetMechanismList");
  std::vector<CK_MECHANISM_TYPE> list(announcedLength(count, kMaxListLength, "C_GetMechanismList"));
  if (count > 0) check(fn->C_GetMechanismList(slot, list.data(), &count), "C_GetMechanismList");
  list.resize(filledLength(count, list.size(), "C_GetMechanismList"));
  std::set<CK_MECHANISM_TYPE> mechanisms(list.begin(), list.end());
  for (CK_MECHANISM_TYPE m : mechanisms) info.mechanisms.push_back(mechanismName(m));

  {
    std::lock_guard<std::mutex> lock(mutex_);
    slot_ = slot;
  }
  // The first session logs in, so a wrong or locked PIN fails here and nothing else happens.
  CK_SESSION_HANDLE first = openSession(module, slot, true);

  std::lock_guard<std::mutex> lock(mutex_);
  module_ = std::move(module);
  slot_ = slot;
  info_ = std::move(info);
  mechanisms_ = std::move(mechanisms);
  idle_.assign(1, first);
  leased_ = 0;
  connected_ = true;
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void Token::disconnect() {
  std::lock_guard<std::mutex> life(lifecycle_);
  std::vector<CK_SESSION_HANDLE> sessions;
  std::shared_ptr<Module> module;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!connected_) return;
    connected_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return leased_ == 0; });
    sessions.swap(idle_);
    module = std::move(module_);
  }
  // Only our own sessions: C_CloseAllSessions or C_Logout would end other stores' sessions on the
  // same token (login state is shared by the whole process); the token logs the process out by
  // itself when its last session closes.
  for (CK_SESSION_HANDLE s : sessions) module->fn()->C_CloseSession(s);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

TokenInfo Token::info() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return info_;
}

bool Token::has(CK_MECHANISM_TYPE mechanism) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return mechanisms_.count(mechanism) != 0;
}

void Token::require(CK_MECHANISM_TYPE mechanism, const char* what) const {
  if (!has(mechanism))
    throw Error(ErrorCode::Unsupported, std::string(what) + " needs the PKCS#11 mechanism " + mechanismName(mechanism) +
                                            ", which token '" + options_.label + "' does not offer");
}

bool Token::sessionReady() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connected_ && (!idle_.empty() || leased_ < options_.sessions);
}

Session Token::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (!connected_) unavailable("the PKCS#11 token '" + options_.label + "' is disconnected");
    if (!idle_.empty()) {
      CK_SESSION_HANDLE h = idle_.back();
      idle_.pop_back();
      ++leased_;
      return Session(this, h, module_);
    }
    // No idle session: opening one (C_OpenSession, perhaps C_Login) or waiting for one is not
    // for the caller's own thread.
    if (CallersThread::active()) throw WouldBlock{};
    if (leased_ < options_.sessions) break;
    cv_.wait(lock);
  }
  ++leased_;
  std::shared_ptr<Module> module = module_;
  CK_SLOT_ID slot = slot_;
  lock.unlock();
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  try {
    h = openSession(module, slot, false);
  } catch (...) {
    lock.lock();
    --leased_;
    cv_.notify_all();
    throw;
  }
  lock.lock();
  slot_ = slot;
  return Session(this, h, std::move(module));
}

void Token::release(CK_SESSION_HANDLE handle, bool failed) {
  std::shared_ptr<Module> closeWith;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --leased_;
    if (!failed && connected_) idle_.push_back(handle);
    else closeWith = module_;
    cv_.notify_all();
  }
  // A failed session is closed (errors ignored: it is usually gone already); the next acquire()
  // opens a fresh one in its place.
  if (closeWith) closeWith->fn()->C_CloseSession(handle);
}

std::shared_ptr<Module> Token::currentModule() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return module_;
}

void Token::lost(const std::string& why) {
  unavailable("the PKCS#11 token '" + options_.label + "' is not available: " + why);
}

CK_OBJECT_HANDLE Token::findOne(Session& s, CK_OBJECT_CLASS cls, ByteView id) {
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_ID, const_cast<uint8_t*>(id.data), static_cast<CK_ULONG>(id.size)},
  };
  std::vector<CK_OBJECT_HANDLE> found = findAll(s, tmpl, 2);
  return found.empty() ? CK_INVALID_HANDLE : found.front();
}

std::vector<CK_OBJECT_HANDLE> Token::findAll(Session& s, CK_ATTRIBUTE* tmpl, CK_ULONG count) {
  CK_FUNCTION_LIST* fn = s.fn();
  check(fn->C_FindObjectsInit(s.handle(), tmpl, count), "C_FindObjectsInit");
  std::vector<CK_OBJECT_HANDLE> out;
  CK_RV rv = CKR_OK;
  bool overcounted = false;
  for (;;) {
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG n = 0;
    rv = fn->C_FindObjects(s.handle(), batch, 64, &n);
    if (rv != CKR_OK || n == 0) break;
    // A module that reports more objects than it was given room for is broken; reading past
    // the batch would be ours (found by fuzzing the token layer against a hostile module).
    if (n > 64) {
      overcounted = true;
      break;
    }
    out.insert(out.end(), batch, batch + n);
  }
  CK_RV done = fn->C_FindObjectsFinal(s.handle());
  if (overcounted) throw Error(ErrorCode::Internal, "C_FindObjects reported more objects than it was given room for");
  check(rv, "C_FindObjects");
  check(done, "C_FindObjectsFinal");
  return out;
}

CK_RV Token::tryReadAttribute(Session& s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, Bytes& out) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = s.fn()->C_GetAttributeValue(s.handle(), object, &a, 1);
  if (rv != CKR_OK) return rv;
  // The attributes read this way are ids, labels and public values: a length beyond this (or
  // CK_UNAVAILABLE_INFORMATION with CKR_OK) is a broken module, not something to allocate
  // (found by fuzzing the token layer against a hostile module).
  constexpr std::size_t kMaxAttributeBytes = 1 << 20;
  out.assign(announcedLength(a.ulValueLen, kMaxAttributeBytes, "C_GetAttributeValue"), 0);
  a.pValue = out.data();
  rv = s.fn()->C_GetAttributeValue(s.handle(), object, &a, 1);
  if (rv != CKR_OK) return rv;
  out.resize(filledLength(a.ulValueLen, out.size(), "C_GetAttributeValue"));
  return CKR_OK;
}

Bytes Token::readAttribute(Session& s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  Bytes out;
  check(tryReadAttribute(s, object, type, out), "C_GetAttributeValue");
  return out;
}

}  // namespace ekms::pkcs11
