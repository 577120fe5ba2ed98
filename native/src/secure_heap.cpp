#include "ekms/secure_heap.hpp"

#include <mutex>

#include <openssl/crypto.h>
#include <openssl/err.h>

namespace ekms {

namespace {

std::once_flag initOnce;
SecureHeapStatus initial;

std::size_t powerOfTwoAtMost(std::size_t n) {
  std::size_t p = 1;
  while (p <= n / 2) p *= 2;
  return p;
}

}  // namespace

SecureHeapStatus initSecureHeap(std::size_t bytes) {
  std::call_once(initOnce, [bytes] {
    if (bytes == 0 || CRYPTO_secure_malloc_initialized()) return;
    const std::size_t size = powerOfTwoAtMost(bytes < 16384 ? 16384 : bytes);
    // 1: on and locked; 2: on, but mlock() failed (RLIMIT_MEMLOCK); 0: off.
    const int rc = CRYPTO_secure_malloc_init(size, 32);
    ERR_clear_error();
    if (rc == 0) return;
    initial.enabled = true;
    initial.locked = rc == 1;
    initial.size = size;
  });
  return secureHeapStatus();
}

SecureHeapStatus secureHeapStatus() {
  SecureHeapStatus s = initial;
  if (s.enabled) s.used = CRYPTO_secure_used();
  return s;
}

bool secureHeapUnderPressure() {
  if (!initial.enabled) return false;
  return CRYPTO_secure_used() >= initial.size / 4 * 3;
}

}  // namespace ekms
