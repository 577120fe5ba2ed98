// Data keys (GenerateDataKey*, GenerateDataKeyPair*): fresh material made in native code and
// encrypted under a KMS key, so the WithoutPlaintext variants never put it in JavaScript.
#pragma once

#include "ekms/key.hpp"

namespace ekms {

struct DataKey {
  Bytes ciphertext;
  SecretBytes plaintext;  // empty unless asked for
  Bytes publicKey;        // pairs only: DER SubjectPublicKeyInfo
};

DataKey generateDataKey(const Key& key, const AlgorithmInfo& alg, std::size_t numberOfBytes,
                        const EncryptionContext& context, bool withPlaintext);
DataKey generateDataKeyPair(const Key& key, const AlgorithmInfo& alg, const std::string& pairSpec,
                            const EncryptionContext& context, bool withPlaintext);

// ReEncrypt: the plaintext exists only inside this call.
Bytes reEncrypt(const Key& source, const AlgorithmInfo& sourceAlg, ByteView ciphertext,
                const EncryptionContext& sourceContext, const Key& destination,
                const AlgorithmInfo& destinationAlg, const EncryptionContext& destinationContext);

std::string opensslVersion();

}  // namespace ekms
