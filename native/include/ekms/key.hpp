// A usable KMS key (one key material of it): the operations KMS performs with a key. Software
// keys and PKCS#11 token keys both implement this; an operation a key cannot do throws
// Unsupported. Implementations are immutable after construction and safe to use from several
// threads at once.
#pragma once

#include <memory>
#include <string>

#include "ekms/bytes.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/root_key.hpp"

namespace ekms {

class Key {
 public:
  explicit Key(KeyIdentity id) : id_(std::move(id)) {}
  virtual ~Key() = default;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  const KeyIdentity& identity() const { return id_; }

  // Sign/Verify: isDigest means the message is already the hash (MessageType DIGEST).
  virtual Bytes sign(const AlgorithmInfo& alg, bool isDigest, ByteView message) const;
  // Throws InvalidSignature when the signature does not match.
  virtual void verify(const AlgorithmInfo& alg, bool isDigest, ByteView message, ByteView signature) const;

  // Encrypt/Decrypt: RSAES_OAEP_* for RSA keys (context ignored), SYMMETRIC_DEFAULT for AES keys.
  virtual Bytes encrypt(const AlgorithmInfo& alg, ByteView plaintext, const EncryptionContext& context) const;
  virtual SecretBytes decrypt(const AlgorithmInfo& alg, ByteView ciphertext, const EncryptionContext& context) const;

  virtual Bytes mac(const AlgorithmInfo& alg, ByteView message) const;
  virtual SecretBytes deriveSharedSecret(ByteView peerPublicKeyDer) const;

  // True for keys whose every operation on a KMS-sized input (at most a few KiB) costs about a
  // microsecond and never waits (AES-GCM and HMAC in software): handing such work to a thread
  // costs ten times more than the work, so callers may run it on their own thread. Token keys
  // and asymmetric keys say false: their operations take tens of microseconds or can block.
  virtual bool cheapToRunInline() const { return false; }

  // True for keys whose Sign costs at most a few hundred microseconds (ECDSA P-256 and Ed25519
  // in software: tens; RSA-2048: about 300): no more than one or a few thread-pool round trips on
  // an idle machine, so a caller doing one at a time may run it on its own thread (the caller
  // bounds how much per event-loop turn: src/operations/inline-budget.ts).
  virtual bool cheapToSignInline() const { return false; }

  // The same for Verify, which is cheaper for RSA keys of every size (a public-key operation,
  // 15-60 µs). By default, as Sign.
  virtual bool cheapToVerifyInline() const { return cheapToSignInline(); }

  // The same for Encrypt, Decrypt and DeriveSharedSecret. Symmetric keys answer as
  // cheapToRunInline. An asymmetric key's Encrypt is RSA-OAEP with the public key (as cheap as a
  // Verify: 20-60 µs), its Decrypt a private-key operation (as costly as a Sign), and ECDH a
  // private-key scalar multiplication (as costly as an ECDSA Sign); each key says which it can do
  // on the calling thread.
  virtual bool cheapToEncryptInline() const { return cheapToRunInline(); }
  virtual bool cheapToDecryptInline() const { return cheapToRunInline(); }
  virtual bool cheapToDeriveInline() const { return false; }

 protected:
  [[noreturn]] void unsupported(const char* operation) const;

 private:
  KeyIdentity id_;
};

// Verifies a MAC in constant time; throws InvalidMac when it does not match.
void verifyMac(const Key& key, const AlgorithmInfo& alg, ByteView message, ByteView macValue);

}  // namespace ekms
