// Shared pieces of the libFuzzer harnesses: fixed identities and keys (so a crash input
// reproduces on any machine), and a check that aborts loudly when a property is violated.
//
// Every harness follows one rule: hostile bytes may only ever end in an ekms::Error (the
// native core's one way of failing). Any other exception, a crash, a sanitizer report, or a
// violated property (a tampered blob that decrypts, a round trip that does not) is a finding.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "ekms/bytes.hpp"
#include "ekms/error.hpp"
#include "ekms/root_key.hpp"

namespace fuzz {

inline const std::string kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
inline const std::string kMaterialId = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// A fixed 32-byte value (root key, AES key): reproducible, and obviously not a real secret.
inline ekms::Bytes fixedBytes(std::size_t n, uint8_t salt) {
  ekms::Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i * 31u + salt);
  return out;
}

[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s\n", what);
  std::abort();
}

#define FUZZ_CHECK(cond)                                        \
  do {                                                          \
    if (!(cond)) ::fuzz::violated(#cond " at " __FILE__);       \
  } while (0)

// Runs f; an ekms::Error is an accepted outcome (returns false); anything else aborts.
template <typename F>
bool tolerate(F&& f) {
  try {
    f();
    return true;
  } catch (const ekms::Error&) {
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception type: %s\n", e.what());
    std::abort();
  }
}

// The key specs of the native core, in a fixed order (a byte of input picks one).
inline const char* const kSpecs[] = {
    "SYMMETRIC_DEFAULT", "HMAC_224",        "HMAC_256",        "HMAC_384",      "HMAC_512",
    "ECC_NIST_P256",     "ECC_NIST_P384",   "ECC_NIST_P521",   "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519",
    "RSA_2048",          "RSA_3072",        "RSA_4096",
};
constexpr std::size_t kSpecCount = sizeof kSpecs / sizeof kSpecs[0];

}  // namespace fuzz
