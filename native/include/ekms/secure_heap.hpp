// OpenSSL's secure heap for this process's key material: pages that are mlock()ed (never
// swapped, where RLIMIT_MEMLOCK allows) and marked MADV_DONTDUMP (never in a core dump), which
// OpenSSL wipes on free. Once it is initialised, OpenSSL itself allocates private key parts
// there (RSA's d, p, q, CRT values; EC and Ed25519 private scalars), and SecretBytes (raw AES and
// HMAC keys, plaintexts, PINs) ask for it first, falling back to the ordinary heap when it is
// full. The addon initialises it once per process; the native tests and fuzzers do not, and
// then everything uses the ordinary heap (still wiped before free).
#pragma once

#include <cstddef>

namespace ekms {

struct SecureHeapStatus {
  bool enabled = false;  // initialised (mlock may still have failed: see locked)
  bool locked = false;   // mlock() succeeded
  std::size_t size = 0;  // bytes
  std::size_t used = 0;  // bytes in use
};

// Initialises the secure heap with `bytes` (rounded down to a power of two, at least 16 KiB);
// 0 leaves it off. Only the first call in a process has an effect (OpenSSL's heap is per
// process), later ones return the status the first one made.
SecureHeapStatus initSecureHeap(std::size_t bytes);
SecureHeapStatus secureHeapStatus();
// Three quarters or more of the secure heap in use: OpenSSL will soon fail to load keys there.
bool secureHeapUnderPressure();

}  // namespace ekms
