// Root key escrow: the root key wrapped under a passphrase, in a file of its own, so a lost or
// destroyed root.key can be recovered. The passphrase is stretched with scrypt (memory-hard, so
// guessing costs memory as well as time) into an AES-256-GCM key; everything in the file before
// the ciphertext is authenticated, including the cost parameters and the root key's public
// check value (which lets a restore tell which root key an escrow file holds without the
// passphrase). Escrow files are parsed as untrusted input.
#pragma once

#include <cstdint>
#include <string>

#include "ekms/bytes.hpp"

namespace ekms {

struct EscrowCost {
  // scrypt N = 2^logN, r, p. The default costs 128 MiB and about half a second here; opening an
  // escrow file accepts only costs within [kMinEscrowLogN, kMaxEscrowLogN] and up to 1 GiB.
  uint8_t logN = 17;
  uint32_t r = 8;
  uint32_t p = 1;
};

constexpr uint8_t kMinEscrowLogN = 14;
constexpr uint8_t kMaxEscrowLogN = 22;

// The escrow file's bytes for a 32-byte root key.
Bytes sealEscrow(ByteView rootKey, ByteView passphrase, const EscrowCost& cost);
// The root key inside an escrow file. Throws RootKey when the passphrase is wrong or the file
// was altered, InvalidInput when it is not an escrow file this version understands.
SecretBytes openEscrow(ByteView file, ByteView passphrase);
// The check value of the root key an escrow file holds (no passphrase needed).
Bytes escrowCheckValue(ByteView file);

// File-level helpers: read root.key / write the escrow file (new file, 0600, fsynced), and back.
// Both return the root key's check value.
Bytes escrowRootKeyFile(const std::string& rootKeyPath, ByteView passphrase, const std::string& escrowPath,
                        const EscrowCost& cost);
Bytes recoverRootKeyFile(const std::string& escrowPath, ByteView passphrase, const std::string& rootKeyPath);
Bytes escrowFileCheckValue(const std::string& escrowPath);

}  // namespace ekms
