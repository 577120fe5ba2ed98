// The PKCS#11 API as this project uses it: the standard names from p11-kit's header (Debian
// package libp11-kit-dev, in its PKCS#11-compatible mode) and how a CK_RV becomes an ekms::Error.
#pragma once

#include <cstddef>
#include <string>

#include <p11-kit/pkcs11.h>

#include "ekms/error.hpp"

namespace ekms::pkcs11 {

// "CKR_PIN_INCORRECT", or "CKR_0x..." for codes we do not name.
std::string rvName(CK_RV rv);

// The session (or the token behind it) is gone: replace the session and retry once.
bool isSessionLost(CK_RV rv);
// A cached object handle no longer names the object (the token was re-initialised, logged out
// or re-inserted): look the object up again.
bool isHandleStale(CK_RV rv);

// A PKCS#11 call that failed. The message names the call and the return value and nothing else
// (no PIN, no key material). Callers that can recover (retry, uniform error) catch it by rv().
class RvError : public Error {
 public:
  RvError(const char* call, CK_RV rv);
  CK_RV rv() const noexcept { return rv_; }

 private:
  CK_RV rv_;
};

inline void check(CK_RV rv, const char* call) {
  if (rv != CKR_OK) throw RvError(call, rv);
}

// Lengths a module reports. A call that fills a buffer may report at most the room it was given
// (PKCS#11 §5.2), and a size announced before a buffer is allocated must be one a buffer can
// hold. A module that breaks either is broken: believing it would read past our buffer, grow an
// answer with bytes it never wrote, or allocate without bound (found by fuzzing the token layer
// against a hostile module). Both are Internal errors instead.
inline std::size_t filledLength(CK_ULONG reported, std::size_t room, const char* call) {
  if (reported > room) throw Error(ErrorCode::Internal, std::string(call) + " reported more than it was given room for");
  return static_cast<std::size_t>(reported);
}
inline std::size_t announcedLength(CK_ULONG announced, std::size_t limit, const char* call) {
  if (announced > limit) throw Error(ErrorCode::Internal, std::string(call) + " reported a length out of range");
  return static_cast<std::size_t>(announced);
}

}  // namespace ekms::pkcs11
