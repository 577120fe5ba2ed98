#include "ekms/data_keys.hpp"

#include <openssl/crypto.h>

#include "ekms/software_key.hpp"

namespace ekms {

DataKey generateDataKey(const Key& key, const AlgorithmInfo& alg, std::size_t numberOfBytes,
                        const EncryptionContext& context, bool withPlaintext) {
  DataKey out;
  SecretBytes material = randomSecret(numberOfBytes);
  out.ciphertext = key.encrypt(alg, material, context);
  if (withPlaintext) out.plaintext = std::move(material);
  return out;
}

DataKey generateDataKeyPair(const Key& key, const AlgorithmInfo& alg, const std::string& pairSpec,
                            const EncryptionContext& context, bool withPlaintext) {
  DataKey out;
  GeneratedKey pair = generateMaterial(pairSpec);
  out.ciphertext = key.encrypt(alg, pair.material, context);
  out.publicKey = std::move(pair.publicKey);
  if (withPlaintext) out.plaintext = std::move(pair.material);
  return out;
}

Bytes reEncrypt(const Key& source, const AlgorithmInfo& sourceAlg, ByteView ciphertext,
                const EncryptionContext& sourceContext, const Key& destination,
                const AlgorithmInfo& destinationAlg, const EncryptionContext& destinationContext) {
  SecretBytes plaintext = source.decrypt(sourceAlg, ciphertext, sourceContext);
  return destination.encrypt(destinationAlg, plaintext, destinationContext);
}

std::string opensslVersion() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace ekms
