// Byte containers for the native core. SecretBytes is for anything that must not outlive its
// use in readable memory (key material, plaintexts, PINs): its allocator wipes before freeing.
// KeyBytes is for key material kept for a key's lifetime: in OpenSSL's secure heap where it can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/err.h>

namespace ekms {

using Bytes = std::vector<uint8_t>;

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const WipingAllocator<U>&) const noexcept { return false; }
};

// For key material that lives as long as a key does: OpenSSL's secure heap when the process has
// one (mlock()ed, MADV_DONTDUMP; see secure_heap.hpp), the ordinary heap when it has none or it
// is full; wiped before free either way. Transient secrets (plaintexts, messages) stay in
// SecretBytes: the secure heap's one lock would cost every operation.
template <typename T>
struct SecureAllocator {
  using value_type = T;
  SecureAllocator() noexcept = default;
  template <typename U>
  SecureAllocator(const SecureAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T) == 0 ? 1 : n * sizeof(T);
    void* p = nullptr;
    if (CRYPTO_secure_malloc_initialized()) {
      ERR_set_mark();  // a full secure heap queues an error: not ours to report
      p = OPENSSL_secure_malloc(bytes);
      ERR_pop_to_mark();
    }
    if (p == nullptr) p = OPENSSL_malloc(bytes);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    // Wipes, then frees to whichever heap the pointer belongs to.
    OPENSSL_secure_clear_free(p, n * sizeof(T) == 0 ? 1 : n * sizeof(T));
  }
  template <typename U>
  bool operator==(const SecureAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const SecureAllocator<U>&) const noexcept { return false; }
};

using SecretBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;
using KeyBytes = std::vector<uint8_t, SecureAllocator<uint8_t>>;

// A read-only view of caller-owned bytes; the caller keeps them alive for the call.
struct ByteView {
  const uint8_t* data = nullptr;
  std::size_t size = 0;
  ByteView() = default;
  ByteView(const uint8_t* d, std::size_t n) : data(d), size(n) {}
  template <typename A>
  ByteView(const std::vector<uint8_t, A>& v) : data(v.data()), size(v.size()) {}
  ByteView(const std::string& s) : data(reinterpret_cast<const uint8_t*>(s.data())), size(s.size()) {}
};

inline Bytes toBytes(ByteView v) { return Bytes(v.data, v.data + v.size); }
inline SecretBytes toSecret(ByteView v) { return SecretBytes(v.data, v.data + v.size); }
inline KeyBytes toKeyBytes(ByteView v) { return KeyBytes(v.data, v.data + v.size); }

}  // namespace ekms
