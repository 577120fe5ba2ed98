// Where keys become usable. A KeySource knows how to produce a Key (unwrap a software blob,
// find a token object); the KeyCache keeps the most recently used Keys, bounded, so a store of
// 100,000 keys does not hold 100,000 unwrapped keys. Dropping a Key wipes its material.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ekms/key.hpp"

namespace ekms {

class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual const std::string& cacheKey() const = 0;
  virtual std::shared_ptr<const Key> load() const = 0;
  // True when the key's operations, and loading it, are done by a PKCS#11 token: callers run them
  // on threads meant for waiting on a device (binding/job_threads.hpp).
  virtual bool onToken() const { return false; }
};

class WrappedKeySource final : public KeySource {
 public:
  WrappedKeySource(std::shared_ptr<const RootKey> root, KeyIdentity id, Bytes wrapped);
  const std::string& cacheKey() const override { return cacheKey_; }
  std::shared_ptr<const Key> load() const override;

 private:
  std::shared_ptr<const RootKey> root_;
  KeyIdentity id_;
  Bytes wrapped_;
  std::string cacheKey_;
};

class KeyCache {
 public:
  explicit KeyCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Returns the cached key, or loads it (outside the lock: unwrapping is slow) and caches it.
  std::shared_ptr<const Key> get(const KeySource& source);
  // The cached key, or nullptr: never loads (for callers that must not wait for an unwrap).
  std::shared_ptr<const Key> peek(const std::string& cacheKey);
  void put(const std::string& cacheKey, std::shared_ptr<const Key> key);
  // Drops every material of a key (disabled, deleted or rotated elsewhere).
  void evictKey(const std::string& keyId);
  void close();
  std::size_t size() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const Key>>;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // front is most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t capacity_;
  bool closed_ = false;
};

std::string cacheKeyOf(const KeyIdentity& id);

}  // namespace ekms
