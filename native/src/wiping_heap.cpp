#include "ekms/wiping_heap.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <openssl/crypto.h>

namespace ekms {

namespace {

void* wipingMalloc(std::size_t n, const char*, int) { return n == 0 ? nullptr : std::malloc(n); }

void wipingFree(void* p, const char*, int) {
  if (p == nullptr) return;
  OPENSSL_cleanse(p, malloc_usable_size(p));
  std::free(p);
}

// realloc() may move the block and free the old one unwiped: the move is made here instead.
void* wipingRealloc(void* p, std::size_t n, const char* file, int line) {
  if (p == nullptr) return wipingMalloc(n, file, line);
  if (n == 0) {
    wipingFree(p, file, line);
    return nullptr;
  }
  const std::size_t have = malloc_usable_size(p);
  if (n <= have) return p;  // fits where it is (the tail past n keeps what it held until freed)
  void* moved = std::malloc(n);
  if (moved == nullptr) return nullptr;  // p stays valid, as realloc() leaves it
  std::memcpy(moved, p, have);
  wipingFree(p, file, line);
  return moved;
}

std::once_flag installOnce;
bool installed = false;

}  // namespace

bool wipeOpensslFrees() {
  std::call_once(installOnce, [] { installed = CRYPTO_set_mem_functions(wipingMalloc, wipingRealloc, wipingFree) == 1; });
  return installed;
}

}  // namespace ekms
