#include "ekms/key_cache.hpp"

#include "ekms/error.hpp"
#include "ekms/secure_heap.hpp"
#include "ekms/software_key.hpp"

namespace ekms {

std::string cacheKeyOf(const KeyIdentity& id) { return id.keyId + '/' + id.materialId; }

WrappedKeySource::WrappedKeySource(std::shared_ptr<const RootKey> root, KeyIdentity id, Bytes wrapped)
    : root_(std::move(root)), id_(std::move(id)), wrapped_(std::move(wrapped)), cacheKey_(cacheKeyOf(id_)) {}

std::shared_ptr<const Key> WrappedKeySource::load() const {
  SecretBytes material = root_->unwrap(id_, wrapped_);
  return loadSoftwareKey(id_, material);
}

std::shared_ptr<const Key> KeyCache::get(const KeySource& source) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) throw Error(ErrorCode::KeyUnavailable, "the key store is closed");
    auto it = index_.find(source.cacheKey());
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  std::shared_ptr<const Key> key;
  try {
    key = source.load();
  } catch (const Error&) {
    // OpenSSL puts private keys in the secure heap and fails to load one when that is full:
    // make room by dropping the least recently used half of the cache, then try once more.
    if (!secureHeapUnderPressure()) throw;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t n = lru_.size() / 2; n > 0; --n) {
        index_.erase(lru_.back().first);
        lru_.pop_back();
      }
    }
    key = source.load();
  }
  put(source.cacheKey(), key);
  return key;
}

std::shared_ptr<const Key> KeyCache::peek(const std::string& cacheKey) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return nullptr;
  auto it = index_.find(cacheKey);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void KeyCache::put(const std::string& cacheKey, std::shared_ptr<const Key> key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  auto it = index_.find(cacheKey);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(cacheKey, std::move(key));
  index_[cacheKey] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();  // the Key is destroyed (and wiped) once no operation in flight holds it
  }
  // OpenSSL keeps private keys in the secure heap, which has a fixed size: keep room there for
  // the next key to be generated or loaded by dropping the least recently used half.
  if (secureHeapUnderPressure()) {
    for (std::size_t n = lru_.size() / 2; n > 0; --n) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }
}

void KeyCache::evictKey(const std::string& keyId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string prefix = keyId + '/';
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      index_.erase(it->first);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

void KeyCache::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  index_.clear();
  lru_.clear();
}

std::size_t KeyCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

}  // namespace ekms
