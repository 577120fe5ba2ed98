#include "ekms/root_rotation.hpp"

#include <utility>

#include "ekms/error.hpp"

namespace ekms {

Bytes createRootKeyFile(const std::string& path) {
  SecretBytes key = randomSecret(32);
  writeRootKeyFile(path, key);
  return RootKey::fromBytes(key)->checkValue();
}

Bytes rootKeyFileCheck(const std::string& path) { return RootKey::open(path, false)->checkValue(); }

RootRewrapper::RootRewrapper(std::shared_ptr<const RootKey> from, std::shared_ptr<const RootKey> to)
    : from_(std::move(from)), to_(std::move(to)) {
  if (!from_ || !to_) throw Error(ErrorCode::InvalidInput, "a rewrap needs two root keys");
}

Bytes RootRewrapper::rewrap(const KeyIdentity& id, ByteView blob) const {
  // SecretBytes: the unwrapped material is wiped when this scope ends, thrown or not.
  SecretBytes material = from_->unwrap(id, blob);
  return to_->wrap(id, material);
}

}  // namespace ekms
