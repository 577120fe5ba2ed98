// Byte containers for the native core. SecretBytes is for anything that must not outlive its
// use in readable memory (key material, plaintexts, PINs): its allocator wipes before freeing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <openssl/crypto.h>

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

using SecretBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;

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

}  // namespace ekms
