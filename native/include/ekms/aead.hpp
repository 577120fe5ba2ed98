// AES-256-GCM with a 96-bit random nonce and a 128-bit tag: the one AEAD the core uses, for key
// wrapping and for SYMMETRIC_DEFAULT ciphertexts.
#pragma once

#include "ekms/bytes.hpp"

namespace ekms {

constexpr std::size_t kGcmNonceLen = 12;
constexpr std::size_t kGcmTagLen = 16;

// Appends ciphertext then tag to out.
void gcmSeal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext, Bytes& out);
// Returns false (and leaves out wiped) when the tag does not verify.
bool gcmOpen(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext, ByteView tag,
             SecretBytes& out);

}  // namespace ekms
