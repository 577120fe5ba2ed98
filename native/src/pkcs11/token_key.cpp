// TokenKey: the ekms::Key of a key material on a PKCS#11 token. Private and secret operations go
// to the token; Verify and RSA-OAEP Encrypt use the public key in software. Mechanisms come
// from the token's list: where a combined mechanism is missing (SoftHSM2 has no
// CKM_ECDSA_SHA256) we hash here and use the raw one; what the token cannot do at all is
// Unsupported, naming the mechanism.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <sys/resource.h>

#include <openssl/core_names.h>

#include "ekms/aead.hpp"
#include "internal.hpp"

namespace ekms::pkcs11 {

namespace {

CK_MECHANISM_TYPE hashMechanism(const AlgorithmInfo& alg) {
  if (std::strcmp(alg.digest, "SHA1") == 0) return CKM_SHA_1;
  if (std::strcmp(alg.digest, "SHA224") == 0) return CKM_SHA224;
  if (std::strcmp(alg.digest, "SHA256") == 0) return CKM_SHA256;
  if (std::strcmp(alg.digest, "SHA384") == 0) return CKM_SHA384;
  return CKM_SHA512;
}

CK_RSA_PKCS_MGF_TYPE mgfOf(const AlgorithmInfo& alg) {
  switch (hashMechanism(alg)) {
    case CKM_SHA_1: return CKG_MGF1_SHA1;
    case CKM_SHA224: return CKG_MGF1_SHA224;
    case CKM_SHA256: return CKG_MGF1_SHA256;
    case CKM_SHA384: return CKG_MGF1_SHA384;
    default: return CKG_MGF1_SHA512;
  }
}

CK_MECHANISM_TYPE hmacMechanism(const AlgorithmInfo& alg) {
  switch (hashMechanism(alg)) {
    case CKM_SHA224: return CKM_SHA224_HMAC;
    case CKM_SHA256: return CKM_SHA256_HMAC;
    case CKM_SHA384: return CKM_SHA384_HMAC;
    default: return CKM_SHA512_HMAC;
  }
}

// Combined hash-and-sign mechanisms, used only when the raw one is missing.
CK_MECHANISM_TYPE combinedMechanism(const AlgorithmInfo& alg) {
  const CK_MECHANISM_TYPE h = hashMechanism(alg);
  switch (alg.padding) {
    case Padding::Pkcs1:
      return h == CKM_SHA256 ? CKM_SHA256_RSA_PKCS : h == CKM_SHA384 ? CKM_SHA384_RSA_PKCS : CKM_SHA512_RSA_PKCS;
    case Padding::Pss:
      return h == CKM_SHA256 ? CKM_SHA256_RSA_PKCS_PSS : h == CKM_SHA384 ? CKM_SHA384_RSA_PKCS_PSS : CKM_SHA512_RSA_PKCS_PSS;
    default:
      return h == CKM_SHA256 ? CKM_ECDSA_SHA256 : h == CKM_SHA384 ? CKM_ECDSA_SHA384 : CKM_ECDSA_SHA512;
  }
}

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1): CKM_RSA_PKCS signs DigestInfo, not the hash.
Bytes digestInfoPrefix(const AlgorithmInfo& alg) {
  switch (hashMechanism(alg)) {
    case CKM_SHA256:
      return {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    case CKM_SHA384:
      return {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    default:
      return {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
  }
}

Bytes hashOf(const AlgorithmInfo& alg, ByteView message) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(message.data, message.size, out.data(), &len, digestOf(alg), nullptr) != 1) throwOpenssl("digest");
  out.resize(len);
  return out;
}

// The token's raw r||s as the DER ECDSA-Sig-Value KMS returns, written directly: the same bytes
// as ecdsaRawToDer (public_key.cpp), without the BIGNUM and ECDSA_SIG round trip, which cost
// about 1.4 µs a signature here, some 2% of a SoftHSM2 P-256 Sign.
Bytes ecdsaSignatureDer(ByteView raw) {
  if (raw.size == 0 || raw.size % 2 != 0 || raw.size > 2 * 66)
    throw Error(ErrorCode::Internal, "the token returned a malformed ECDSA signature");
  const std::size_t half = raw.size / 2;
  struct Int {
    const uint8_t* p;
    std::size_t n;    // without leading zero bytes (at least one byte)
    bool pad;         // a 0x00 first, so that the INTEGER stays positive
  };
  auto integer = [](const uint8_t* p, std::size_t n) {
    while (n > 1 && p[0] == 0) ++p, --n;
    return Int{p, n, (p[0] & 0x80) != 0};
  };
  const Int ints[2] = {integer(raw.data, half), integer(raw.data + half, half)};
  std::size_t body = 0;
  for (const Int& i : ints) body += 2 + i.pad + i.n;  // each INTEGER is under 128 bytes
  Bytes out;
  out.reserve(3 + body);
  out.push_back(0x30);
  if (body >= 0x80) out.push_back(0x81);  // P-521: a SEQUENCE of up to 139 bytes
  out.push_back(static_cast<uint8_t>(body));
  for (const Int& i : ints) {
    out.push_back(0x02);
    out.push_back(static_cast<uint8_t>(i.n + i.pad));
    if (i.pad) out.push_back(0);
    out.insert(out.end(), i.p, i.p + i.n);
  }
  return out;
}

// A failed decryption is one uniform InvalidCiphertext, whatever the token said, except for the
// failures Token::run() recovers from (lost session, stale handle), which must reach it. (A call
// that failed because its object was destroyed meanwhile reaches it as a stale handle: withObject.)
[[noreturn]] void invalidCiphertextOr(const RvError& e) {
  if (isSessionLost(e.rv()) || isHandleStale(e.rv()) || e.rv() == CKR_BUFFER_TOO_SMALL || e.rv() == CKR_OPERATION_ACTIVE)
    throw e;
  throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid");
}

class TokenKey final : public Key {
 public:
  TokenKey(const KeyIdentity& id, std::shared_ptr<Token> token, const std::string& tokenRef, Pkey publicKey,
           std::vector<std::string> owners)
      : Key(id), token_(std::move(token)), ckaId_(tokenRef.begin(), tokenRef.end()), spec_(keySpec(id.keySpec)),
        public_(std::move(publicKey)), owners_(std::move(owners)) {
    objectClass_ = (spec_.family == KeyFamily::Aes || spec_.family == KeyFamily::Hmac) ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
  }

  Bytes sign(const AlgorithmInfo& alg, bool isDigest, ByteView message) const override {
    switch (spec_.family) {
      case KeyFamily::Ed25519:
        if (alg.ed25519ph)
          throw Error(ErrorCode::Unsupported, kEd25519phUnsupported);
        token_->require(CKM_EDDSA, "Ed25519 signing");
        return signWith({CKM_EDDSA, nullptr, 0}, message, 64);
      case KeyFamily::Ec: {
        const std::size_t size = 2 * ecFieldBytes(spec_);
        if (!token_->has(CKM_ECDSA)) {
          if (!isDigest && token_->has(combinedMechanism(alg)))
            return ecdsaSignatureDer(signWith({combinedMechanism(alg), nullptr, 0}, message, size));
          token_->require(CKM_ECDSA, "ECDSA signing");
        }
        if (isDigest) return ecdsaSignatureDer(signWith({CKM_ECDSA, nullptr, 0}, message, size));
        Bytes digest = hashOf(alg, message);
        return ecdsaSignatureDer(signWith({CKM_ECDSA, nullptr, 0}, digest, size));
      }
      case KeyFamily::Rsa:
        return signRsa(alg, isDigest, message);
      default:
        unsupported("Sign");
    }
  }

  // The token's signature may run on the calling thread once it has proved fast: by moving
  // averages of its measured time per signature (signWith, wherever it ran). The calling thread
  // may spend up to kInlineSignNanos of the token's time (its CPU time; its wall time when it
  // blocked), its budget of signing per event-loop turn (inline-budget.ts): SoftHSM2 computes
  // its P-256 signatures in 50-100 µs and its RSA-2048 in 0.6-0.8 ms, in this process. But it
  // may block (a device, an HSM across a network: the thread sleeps, off its CPU) for under
  // kInlineWaitNanos only, about a thread hand-off: a wait can
  // stretch without bound (a retransmit, a failover), and the event loop must not be the thread
  // that waits. Preemption by the machine's other load is not blocking: the thread stays ready.
  // On a 2-vCPU VM, handing a signature to the pool and back costs 100-170 µs of wall time (two
  // cross-CPU wake-ups), which a caller signing one at a time would pay on every call. A token
  // that slows down stops qualifying after one stalled call. Never when every session is busy:
  // the calling thread must not wait for one. The JavaScript side sends a signature to the pool
  // whenever others of ours are in flight (inline-budget.ts), so concurrent callers still use
  // every core.
  bool cheapToSignInline() const override {
    if (samples_.load(std::memory_order_relaxed) < kInlineMinSamples) return false;
    return signNanos_.load(std::memory_order_relaxed) < kInlineSignNanos &&
           blockedNanos_.load(std::memory_order_relaxed) < kInlineWaitNanos && token_->sessionReady();
  }

  // Verify never reaches the token: it is the public key's work here, cheap for the same key
  // specs as a software key's (software_key.cpp).
  bool cheapToVerifyInline() const override {
    return public_ && (spec_.family == KeyFamily::Rsa || spec_.family == KeyFamily::Ec || spec_.family == KeyFamily::Ed25519);
  }

  // RSA-OAEP encryption uses the public key here, as Verify does (encrypt()); decryption and ECDH
  // are the token's, and stay off the event loop (Key's defaults).
  bool cheapToEncryptInline() const override { return public_ && spec_.family == KeyFamily::Rsa; }

  void verify(const AlgorithmInfo& alg, bool isDigest, ByteView message, ByteView signature) const override {
    if (!public_) unsupported("Verify");
    verifyWithPublicKey(public_.get(), spec_.family, alg, isDigest, message, signature);
  }

  Bytes encrypt(const AlgorithmInfo& alg, ByteView plaintext, const EncryptionContext& context) const override {
    if (spec_.family == KeyFamily::Rsa && alg.padding == Padding::Oaep) return rsaOaepEncrypt(public_.get(), alg, plaintext);
    if (spec_.family != KeyFamily::Aes || std::strcmp(alg.name, "SYMMETRIC_DEFAULT") != 0) unsupported("Encrypt");
    token_->require(CKM_AES_GCM, "SYMMETRIC_DEFAULT encryption");
    Bytes nonce = randomBytes(kGcmNonceLen);
    Bytes out;
    out.reserve(2 + identity().keyId.size() + kMaterialIdLen + kGcmNonceLen + plaintext.size + kGcmTagLen);
    writeCiphertextHeader(identity().keyId, identity().materialId, nonce, out);
    Bytes aad = ciphertextAad(out, context);
    CK_GCM_PARAMS params{nonce.data(), kGcmNonceLen, kGcmNonceLen * 8, aad.data(), aad.size(), kGcmTagLen * 8};
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    Bytes sealed = withObject([&](Session& s, CK_OBJECT_HANDLE h) {
      check(s.fn()->C_EncryptInit(s.handle(), &mech, h), "C_EncryptInit");
      Bytes buf(plaintext.size + kGcmTagLen);
      CK_ULONG len = buf.size();
      check(s.fn()->C_Encrypt(s.handle(), const_cast<uint8_t*>(plaintext.data), plaintext.size, buf.data(), &len),
            "C_Encrypt");
      buf.resize(filledLength(len, buf.size(), "C_Encrypt"));
      return buf;
    });
    out.insert(out.end(), sealed.begin(), sealed.end());
    return out;
  }

  SecretBytes decrypt(const AlgorithmInfo& alg, ByteView ciphertext, const EncryptionContext& context) const override {
    if (spec_.family == KeyFamily::Rsa && alg.padding == Padding::Oaep) return decryptOaep(alg, ciphertext);
    if (spec_.family != KeyFamily::Aes || std::strcmp(alg.name, "SYMMETRIC_DEFAULT") != 0) unsupported("Decrypt");
    token_->require(CKM_AES_GCM, "SYMMETRIC_DEFAULT decryption");
    CiphertextParts parts = parseCiphertext(ciphertext);
    if (parts.keyId != identity().keyId || parts.materialId != identity().materialId)
      throw Error(ErrorCode::IncorrectKey, "ciphertext was made under another key");
    Bytes aad = ciphertextAad(parts.header, context);
    CK_GCM_PARAMS params{const_cast<uint8_t*>(parts.nonce.data), kGcmNonceLen, kGcmNonceLen * 8, aad.data(), aad.size(),
                         kGcmTagLen * 8};
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    // The blob ends with body then tag, which is the input PKCS#11's GCM expects.
    const std::size_t sealedLen = parts.body.size + parts.tag.size;
    return withObject([&](Session& s, CK_OBJECT_HANDLE h) {
      check(s.fn()->C_DecryptInit(s.handle(), &mech, h), "C_DecryptInit");
      SecretBytes out(sealedLen);
      CK_ULONG len = out.size();
      // SoftHSM2 reports a wrong tag as CKR_GENERAL_ERROR; every failure here is InvalidCiphertext.
      CK_RV rv = s.fn()->C_Decrypt(s.handle(), const_cast<uint8_t*>(parts.body.data), sealedLen, out.data(), &len);
      if (rv != CKR_OK) decryptFailed(s, h, RvError("C_Decrypt", rv));
      out.resize(filledLength(len, out.size(), "C_Decrypt"));
      return out;
    });
  }

  Bytes mac(const AlgorithmInfo& alg, ByteView message) const override {
    if (spec_.family != KeyFamily::Hmac || std::strncmp(alg.name, "HMAC_", 5) != 0) unsupported("GenerateMac");
    CK_MECHANISM_TYPE m = hmacMechanism(alg);
    token_->require(m, "GenerateMac");
    return signWith({m, nullptr, 0}, message, alg.digestLen);
  }

  SecretBytes deriveSharedSecret(ByteView peerDer) const override {
    if (spec_.family != KeyFamily::Ec) unsupported("DeriveSharedSecret");
    token_->require(CKM_ECDH1_DERIVE, "DeriveSharedSecret");
    Pkey peer = parseEcdhPeer(public_.get(), peerDer);
    // Uncompressed, the encoding every token accepts, whatever form the caller sent.
    char uncompressed[] = "uncompressed";
    if (EVP_PKEY_set_utf8_string_param(peer.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, uncompressed) != 1)
      throwOpenssl("peer point format");
    unsigned char* point = nullptr;
    std::size_t pointLen = EVP_PKEY_get1_encoded_public_key(peer.get(), &point);
    if (pointLen == 0) throwOpenssl("peer point");
    Bytes peerPoint(point, point + pointLen);
    OPENSSL_free(point);

    CK_ECDH1_DERIVE_PARAMS params{CKD_NULL, 0, nullptr, peerPoint.size(), peerPoint.data()};
    CK_MECHANISM mech{CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ULONG valueLen = ecFieldBytes(spec_);
    // A session object whose value we may read: the raw shared secret is what DeriveSharedSecret
    // returns (DESIGN.md §4). It is destroyed right after.
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},       {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_TOKEN, &no, sizeof no},         {CKA_SENSITIVE, &no, sizeof no},
        {CKA_EXTRACTABLE, &yes, sizeof yes}, {CKA_VALUE_LEN, &valueLen, sizeof valueLen},
    };
    return withObject([&](Session& s, CK_OBJECT_HANDLE h) {
      CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
      check(s.fn()->C_DeriveKey(s.handle(), &mech, h, tmpl, 6, &derived), "C_DeriveKey");
      ObjectGuard guard(s, derived);
      // The secret's length is known (CKA_VALUE_LEN above): one read into a buffer of that size,
      // and an answer of any other length is a broken module's, not a shorter or padded secret.
      SecretBytes out(valueLen);
      CK_ATTRIBUTE value{CKA_VALUE, out.data(), valueLen};
      check(s.fn()->C_GetAttributeValue(s.handle(), derived, &value, 1), "C_GetAttributeValue");
      if (filledLength(value.ulValueLen, out.size(), "C_GetAttributeValue") != out.size())
        throw Error(ErrorCode::Internal, "C_GetAttributeValue gave a shared secret of the wrong length");
      return out;
    });
  }

 private:
  // Runs f(session, object) on a pooled session with this key's object handle, found once per
  // token epoch. A call that failed because the object was destroyed meanwhile (another store's
  // object, say, of two under this CKA_ID) counts as made with a stale handle: Token::run() then
  // searches again and retries once.
  template <typename F>
  auto withObject(F&& f) const -> decltype(f(std::declval<Session&>(), CK_OBJECT_HANDLE{})) {
    return token_->run([&](Session& s) {
      const CK_OBJECT_HANDLE h = object(s);
      try {
        return f(s, h);
      } catch (const RvError& e) {
        staleIfGone(s, h, e);
        throw;
      }
    });
  }

  // A decryption the token refused: InvalidCiphertext (invalidCiphertextOr), unless the object
  // was destroyed while the call ran, which Token::run() retries as a stale handle.
  [[noreturn]] void decryptFailed(Session& s, CK_OBJECT_HANDLE h, const RvError& e) const {
    staleIfGone(s, h, e);
    invalidCiphertextOr(e);
  }

  // Throws a stale handle's error when the call that failed with `e` failed because its object
  // `h` is no longer found by this key's CKA_ID; returns otherwise.
  void staleIfGone(Session& s, CK_OBJECT_HANDLE h, const RvError& e) const {
    if (isSessionLost(e.rv()) || isHandleStale(e.rv())) return;  // Token::run() handles these already
    CK_ATTRIBUTE byId[] = {{CKA_ID, const_cast<uint8_t*>(ckaId_.data()), static_cast<CK_ULONG>(ckaId_.size())}};
    std::vector<CK_OBJECT_HANDLE> found = Token::findAll(s, byId, 1);
    if (std::find(found.begin(), found.end(), h) == found.end()) throw RvError("the key's object", CKR_OBJECT_HANDLE_INVALID);
  }

  // This key's object: of several with its CKA_ID, one a store in owners_ made, if any.
  CK_OBJECT_HANDLE find(Session& s) const {
    CK_OBJECT_CLASS cls = objectClass_;
    CK_ATTRIBUTE byClassAndId[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_ID, const_cast<uint8_t*>(ckaId_.data()), static_cast<CK_ULONG>(ckaId_.size())},
    };
    std::vector<CK_OBJECT_HANDLE> found = Token::findAll(s, byClassAndId, 2);
    if (found.size() > 1 && !owners_.empty()) {
      // Reading the labels may wait (one is read again while its object is being destroyed),
      // which the caller's thread must not: only reads have been made, so the pool may rerun.
      if (CallersThread::active()) throw WouldBlock{};
      try {
        std::vector<CK_OBJECT_HANDLE> ours = madeByOneOf(s, found, &byClassAndId[1], owners_);
        if (!ours.empty()) return ours.front();
      } catch (const RvError& e) {
        if (isSessionLost(e.rv())) throw;
        // Only a preference: with a label that cannot be read, the first object found does.
      }
    }
    return found.empty() ? CK_INVALID_HANDLE : found.front();
  }

  CK_OBJECT_HANDLE object(Session& s) const {
    const uint64_t epoch = token_->epoch();
    {
      std::lock_guard<std::mutex> lock(handleMutex_);
      if (handleEpoch_ == epoch) return handle_;
    }
    CK_OBJECT_HANDLE h = find(s);
    if (h == CK_INVALID_HANDLE)
      throw Error(ErrorCode::KeyMaterialGone, "the key material of " + identity().keyId + " is not on PKCS#11 token '" +
                                                 token_->label() + "'");
    std::lock_guard<std::mutex> lock(handleMutex_);
    handle_ = h;
    handleEpoch_ = epoch;  // the epoch read before the search: a change meanwhile forces another
    return h;
  }

  Bytes signWith(CK_MECHANISM mech, ByteView input, std::size_t maxLen) const {
    // Measured however it ends: a call that failed after a long wait (a token timing out) counts.
    struct Measure {
      const TokenKey& key;
      std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
      ThreadUsage usage = ThreadUsage::now();
      bool ran = false;  // false when nothing reached the token (WouldBlock before a session)
      ~Measure() {
        if (!ran) return;
        const auto wall = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
        // A call shorter than the calling thread's waiting bound cannot have waited that long:
        // its wall time is its measure, and the second getrusage is saved (a system call costs
        // about a microsecond on these VMs: 1.5% of a SoftHSM2 P-256 signature). A longer one
        // needs it, to tell waiting from preemption; so do the first samples.
        if (wall < kInlineWaitNanos && key.samples_.load(std::memory_order_relaxed) >= kInlineMinSamples) {
          key.measured(wall, 0);
          return;
        }
        const ThreadUsage after = ThreadUsage::now();
        // The thread slept during the call (it blocked): its time off the CPU was waiting. With
        // no voluntary switch, time off the CPU was preemption, which is not the token's: the
        // call cost its CPU time only (a loaded machine preempts the calling thread whatever it
        // runs, and would preempt a pool thread as well).
        const uint64_t cpu = after.cpuNanos - usage.cpuNanos;
        const bool blocked = after.voluntarySwitches != usage.voluntarySwitches;
        key.measured(blocked ? wall : std::min(wall, cpu), blocked && wall > cpu ? wall - cpu : 0);
      }
    } measure{*this};
    return withObject([&](Session& s, CK_OBJECT_HANDLE h) {
      measure.ran = true;
      check(s.fn()->C_SignInit(s.handle(), &mech, h), "C_SignInit");
      Bytes sig(maxLen);
      CK_ULONG len = sig.size();
      check(s.fn()->C_Sign(s.handle(), const_cast<uint8_t*>(input.data), input.size, sig.data(), &len), "C_Sign");
      sig.resize(filledLength(len, sig.size(), "C_Sign"));
      return sig;
    });
  }

  // This thread's CPU time and voluntary context switches so far (one getrusage: 0.16 µs here).
  struct ThreadUsage {
    uint64_t cpuNanos = 0;
    long voluntarySwitches = 0;
    static ThreadUsage now() {
      rusage r{};
      getrusage(RUSAGE_THREAD, &r);
      const auto nanos = [](const timeval& t) {
        return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(t.tv_usec) * 1'000ULL;
      };
      return {nanos(r.ru_utime) + nanos(r.ru_stime), r.ru_nvcsw};
    }
  };

  // Moving averages of the token's time and blocked time per signature (weight 1/8 for the
  // newest), waiting for a session included. A call that never blocked counts its CPU time, so
  // preemption by the machine's other load, however frequent, does not move a fast token off the
  // calling thread; one that blocked counts its wall time, at most twice kInlineSignNanos;
  // but a single call that blocked for longer than four times that (a stall, a timeout) sets the
  // average above it at once, and signatures go to the pool until fast ones measured there bring
  // it down (about eight). Threads race on them harmlessly: they only steer where the next
  // signature runs.
  void measured(uint64_t nanos, uint64_t blockedNanos) const {
    const uint64_t ns = std::min<uint64_t>(nanos, 2 * kInlineSignNanos);
    const bool first = samples_.load(std::memory_order_relaxed) == 0;
    const auto average = [first](const std::atomic<uint64_t>& avg, uint64_t sample) {
      const uint64_t old = avg.load(std::memory_order_relaxed);
      return first ? sample : old - old / 8 + sample / 8;
    };
    uint64_t next = average(signNanos_, ns);
    if (blockedNanos > 4 * kInlineSignNanos) next = std::max<uint64_t>(next, 2 * kInlineSignNanos);
    signNanos_.store(next, std::memory_order_relaxed);
    blockedNanos_.store(average(blockedNanos_, std::min<uint64_t>(blockedNanos, ns)), std::memory_order_relaxed);
    if (samples_.load(std::memory_order_relaxed) < kInlineMinSamples) samples_.fetch_add(1, std::memory_order_relaxed);
  }


  Bytes signRsa(const AlgorithmInfo& alg, bool isDigest, ByteView message) const {
    const std::size_t k = static_cast<std::size_t>(EVP_PKEY_get_size(public_.get()));
    if (alg.padding == Padding::Pss) {
      CK_RSA_PKCS_PSS_PARAMS params{hashMechanism(alg), mgfOf(alg), alg.digestLen};
      if (!token_->has(CKM_RSA_PKCS_PSS) && !isDigest && token_->has(combinedMechanism(alg)))
        return signWith({combinedMechanism(alg), &params, sizeof params}, message, k);
      token_->require(CKM_RSA_PKCS_PSS, "RSASSA-PSS signing");
      Bytes digest = isDigest ? toBytes(message) : hashOf(alg, message);
      return signWith({CKM_RSA_PKCS_PSS, &params, sizeof params}, digest, k);
    }
    if (alg.padding != Padding::Pkcs1) unsupported("Sign");
    if (!token_->has(CKM_RSA_PKCS) && !isDigest && token_->has(combinedMechanism(alg)))
      return signWith({combinedMechanism(alg), nullptr, 0}, message, k);
    token_->require(CKM_RSA_PKCS, "RSASSA-PKCS1-v1_5 signing");
    Bytes digestInfo = digestInfoPrefix(alg);
    Bytes digest = isDigest ? toBytes(message) : hashOf(alg, message);
    digestInfo.insert(digestInfo.end(), digest.begin(), digest.end());
    return signWith({CKM_RSA_PKCS, nullptr, 0}, digestInfo, k);
  }

  // RSA-OAEP decryption: CKM_RSA_PKCS_OAEP where the token takes the hash (SoftHSM2 2.6.1 only
  // takes SHA-1), else raw CKM_RSA_X_509 and our constant-time OAEP decoding. The token's refusal
  // happens at C_DecryptInit, before it sees the ciphertext, so trying it reveals nothing.
  SecretBytes decryptOaep(const AlgorithmInfo& alg, ByteView ciphertext) const {
    const std::size_t k = static_cast<std::size_t>(EVP_PKEY_get_size(public_.get()));
    if (ciphertext.size != k) throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid");
    const bool sha1 = hashMechanism(alg) == CKM_SHA_1;
    std::atomic<bool>& refused = sha1 ? oaepSha1Refused_ : oaepOtherRefused_;
    const bool tryNative = token_->has(CKM_RSA_PKCS_OAEP) && !refused.load(std::memory_order_relaxed);
    if (!tryNative) token_->require(CKM_RSA_X_509, std::string("RSA-OAEP decryption with ").append(alg.name).c_str());
    CK_RSA_PKCS_OAEP_PARAMS oaep{hashMechanism(alg), mgfOf(alg), CKZ_DATA_SPECIFIED, nullptr, 0};
    return withObject([&](Session& s, CK_OBJECT_HANDLE h) {
      CK_FUNCTION_LIST* fn = s.fn();
      if (tryNative) {
        CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
        CK_RV rv = fn->C_DecryptInit(s.handle(), &mech, h);
        if (rv == CKR_OK) {
          SecretBytes out(k);
          CK_ULONG len = out.size();
          rv = fn->C_Decrypt(s.handle(), const_cast<uint8_t*>(ciphertext.data), ciphertext.size, out.data(), &len);
          if (rv != CKR_OK) decryptFailed(s, h, RvError("C_Decrypt", rv));
          out.resize(filledLength(len, out.size(), "C_Decrypt"));
          return out;
        }
        if (rv != CKR_ARGUMENTS_BAD && rv != CKR_MECHANISM_PARAM_INVALID && rv != CKR_MECHANISM_INVALID)
          throw RvError("C_DecryptInit", rv);
        refused.store(true, std::memory_order_relaxed);
        token_->require(CKM_RSA_X_509, std::string("RSA-OAEP decryption with ").append(alg.name).c_str());
      }
      CK_MECHANISM raw{CKM_RSA_X_509, nullptr, 0};
      check(fn->C_DecryptInit(s.handle(), &raw, h), "C_DecryptInit");
      SecretBytes em(k);
      CK_ULONG len = em.size();
      CK_RV rv = fn->C_Decrypt(s.handle(), const_cast<uint8_t*>(ciphertext.data), ciphertext.size, em.data(), &len);
      if (rv != CKR_OK || len > k) decryptFailed(s, h, RvError("C_Decrypt", rv));
      // A token may drop leading zero bytes; the decoder restores them without branching on it.
      return oaepDecode(ByteView(em.data(), len), k, digestOf(alg));
    });
  }

  std::shared_ptr<Token> token_;
  Bytes ckaId_;
  const KeySpecInfo& spec_;
  CK_OBJECT_CLASS objectClass_;
  Pkey public_;
  mutable std::mutex handleMutex_;
  mutable uint64_t handleEpoch_ = 0;
  mutable CK_OBJECT_HANDLE handle_ = CK_INVALID_HANDLE;
  static constexpr uint64_t kInlineSignNanos = 1'000'000;
  static constexpr uint64_t kInlineWaitNanos = 200'000;
  static constexpr uint32_t kInlineMinSamples = 8;
  mutable std::atomic<uint64_t> signNanos_{0};
  mutable std::atomic<uint64_t> blockedNanos_{0};
  mutable std::atomic<uint32_t> samples_{0};
  mutable std::atomic<bool> oaepSha1Refused_{false};
  mutable std::atomic<bool> oaepOtherRefused_{false};
  const std::vector<std::string> owners_;
};

}  // namespace

std::shared_ptr<const Key> makeTokenKey(std::shared_ptr<Token> token, const KeyIdentity& id, const std::string& tokenRef,
                                        Pkey publicKey, std::vector<std::string> owners) {
  return std::make_shared<const TokenKey>(id, std::move(token), tokenRef, std::move(publicKey), std::move(owners));
}

}  // namespace ekms::pkcs11
