// The one way the native core reports failure. The code is what the TypeScript layer maps to an
// AWS exception; the message is for developers and never contains key material or plaintext.
#pragma once

#include <stdexcept>
#include <string>

namespace ekms {

enum class ErrorCode {
  InvalidInput,       // a malformed argument the TS layer should have refused
  InvalidCiphertext,  // ciphertext blob tampered, truncated or not ours
  InvalidSignature,   // Verify: signature does not match
  InvalidMac,         // VerifyMac: MAC does not match
  InvalidKeyBlob,     // wrapped key fails to unwrap (wrong root key, moved blob)
  IncorrectKey,       // a ciphertext names a different key than the one given
  Unsupported,        // the OpenSSL or token in use cannot do this
  RootKey,            // root key file missing, unreadable or malformed
  KeyUnavailable,     // a token key cannot be reached (a failing session, a removed device)
  KeyMaterialGone,    // the token answers, but the key's object is no longer on it
  Internal,           // anything else: an OpenSSL failure we did not expect
};

const char* errorCodeName(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Throws Internal with the message and OpenSSL's error queue (cleared afterwards).
[[noreturn]] void throwOpenssl(const char* what);
// Clears OpenSSL's error queue, for failures that are expected (a bad signature).
void clearOpensslErrors() noexcept;

}  // namespace ekms
