// Root key rotation's native half: a fresh root key file, and re-wrapping software key blobs
// from the old root key to the new one. The material is unwrapped only inside rewrap(), in
// native memory, and wiped before it returns; JavaScript sees wrapped blobs and check values.
#pragma once

#include <memory>
#include <string>

#include "ekms/bytes.hpp"
#include "ekms/root_key.hpp"

namespace ekms {

// Creates a root key file with a fresh random key at `path` (which must not exist) and returns
// its check value.
Bytes createRootKeyFile(const std::string& path);

// The check value of the root key in a file, without keeping the key.
Bytes rootKeyFileCheck(const std::string& path);

class RootRewrapper {
 public:
  RootRewrapper(std::shared_ptr<const RootKey> from, std::shared_ptr<const RootKey> to);

  // The blob `id`'s material wrapped under `to` instead of `from`. Throws InvalidKeyBlob when
  // the blob does not unwrap under `from` (the store and the old root key disagree).
  Bytes rewrap(const KeyIdentity& id, ByteView blob) const;

  Bytes fromCheck() const { return from_->checkValue(); }
  Bytes toCheck() const { return to_->checkValue(); }

 private:
  std::shared_ptr<const RootKey> from_;
  std::shared_ptr<const RootKey> to_;
};

}  // namespace ekms
