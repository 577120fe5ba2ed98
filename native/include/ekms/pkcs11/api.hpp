// The PKCS#11 API as this project uses it: the standard names from p11-kit's header (Debian
// package libp11-kit-dev, in its PKCS#11-compatible mode) and how a CK_RV becomes an ekms::Error.
#pragma once

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

}  // namespace ekms::pkcs11
