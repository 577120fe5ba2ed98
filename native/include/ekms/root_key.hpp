// The root key: 256 bits in a file of its own (mode 0600) that only native code reads. It wraps
// every software key with AES-256-GCM, binding the key's identity as associated data, so a blob
// copied onto another key record, or read under another root key, fails to unwrap.
#pragma once

#include <memory>
#include <string>

#include "ekms/bytes.hpp"

namespace ekms {

struct KeyIdentity {
  std::string keyId;
  std::string keySpec;
  std::string materialId;  // 64 lowercase hex characters
};

class RootKey {
 public:
  // Reads the root key file. With create, makes it first when absent (0600, written to a
  // temporary file, fsynced and linked into place so two processes racing agree on one key).
  static std::shared_ptr<const RootKey> open(const std::string& path, bool create);
  static std::shared_ptr<const RootKey> fromBytes(ByteView key);

  // A public value that identifies this root key (HKDF output, not the key): the store keeps it
  // to refuse a wrong root key before anything is written.
  Bytes checkValue() const;

  Bytes wrap(const KeyIdentity& id, ByteView material) const;
  SecretBytes unwrap(const KeyIdentity& id, ByteView blob) const;

  explicit RootKey(SecretBytes key);

 private:
  KeyBytes wrapKey_;
  Bytes check_;
};

// The 32 key bytes of a root key file, for the few native jobs that need the key itself (escrow,
// rotation); everything else goes through RootKey. Throws RootKey when missing or malformed.
SecretBytes readRootKeyFile(const std::string& path);
// Writes a new root key file holding `key` (0600, fsynced, linked into place, directory
// fsynced). Unlike RootKey::open's creation, an existing file is an error, never reused.
void writeRootKeyFile(const std::string& path, ByteView key);
// Writes a new file the way root key files are written (0600, fsynced, linked into place so it
// appears whole or not at all, directory fsynced); `what` names it in errors. With exclusive,
// an existing file is an error; without, the existing file wins and nothing is written.
void writeNewFile(const std::string& path, ByteView contents, bool exclusive, const std::string& what);
// Reads from fd until `out` is full or the file ends (retrying interrupted reads); returns how
// many bytes it read. Root key and escrow files are read one byte past their size, to tell a
// longer file from a file of the right size.
std::size_t readUpTo(int fd, uint8_t* out, std::size_t size);

// Helpers shared with the ciphertext format.
Bytes randomBytes(std::size_t n);
SecretBytes randomSecret(std::size_t n);
SecretBytes hkdfSha256(ByteView ikm, const std::string& info, std::size_t len);

}  // namespace ekms
