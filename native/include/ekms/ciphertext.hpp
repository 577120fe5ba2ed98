// The SYMMETRIC_DEFAULT ciphertext blob (DESIGN.md §4), parsed here because it is untrusted:
//
//   version (1) | key id length (1) | key id | material id (32) | nonce (12) | body | tag (16)
//
// Everything before the body is the header. AES-256-GCM authenticates the header and the
// canonical encoding of the encryption context, so changing any byte, the context, or cutting
// the blob short fails as InvalidCiphertext.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ekms/bytes.hpp"

namespace ekms {

using EncryptionContext = std::vector<std::pair<std::string, std::string>>;

struct CiphertextParts {
  std::string keyId;
  std::string materialId;  // lowercase hex
  ByteView header;         // authenticated as associated data
  ByteView nonce;
  ByteView body;
  ByteView tag;
};

constexpr uint8_t kCiphertextVersion = 1;
constexpr std::size_t kMaterialIdLen = 32;

// Throws InvalidCiphertext for anything that is not a well-formed blob of ours.
CiphertextParts parseCiphertext(ByteView blob);

// Writes the header for a new ciphertext (nonce included) into out.
void writeCiphertextHeader(const std::string& keyId, const std::string& materialIdHex, ByteView nonce, Bytes& out);

// Canonical, unambiguous encoding: pairs sorted by key bytes, each string length-prefixed.
// Duplicate keys cannot occur (the context is a map).
Bytes encodeContext(EncryptionContext context);

// The associated data AES-GCM authenticates: the header, then the encoded context. One function
// so that software and token keys, which seal and open the same format, cannot drift apart.
Bytes ciphertextAad(ByteView header, const EncryptionContext& context);

std::string toHex(ByteView bytes);
bool fromHex(const std::string& hex, Bytes& out);

}  // namespace ekms
