// SYMMETRIC_DEFAULT ciphertexts: parseCiphertext and AES-GCM decryption of arbitrary blobs, and
// the round-trip/tamper property on arbitrary plaintexts and encryption contexts.
//
// Input: mode byte, then
//   mode % 3 == 0: a ciphertext blob, decrypted under the fixed key with the fixed context;
//   mode % 3 == 1: a ciphertext blob, decrypted with a context built from the blob's tail;
//   mode % 3 == 2: a plaintext; encrypt, decrypt (must match), then flip one bit (must fail).
#include <cstdint>
#include <memory>

#include "common.hpp"
#include "ekms/ciphertext.hpp"
#include "ekms/key_spec.hpp"
#include "ekms/software_key.hpp"

namespace {

const ekms::Key& key() {
  static const auto k = ekms::loadSoftwareKey({fuzz::kKeyId, "SYMMETRIC_DEFAULT", fuzz::kMaterialId}, fuzz::fixedBytes(32, 7));
  return *k;
}

const ekms::EncryptionContext& fixedContext() {
  static const ekms::EncryptionContext c{{"purpose", "fuzz"}, {"tenant", "a"}};
  return c;
}

// Up to 3 pairs, each key and value taken from `bytes` with one length byte each.
ekms::EncryptionContext contextFrom(ekms::ByteView bytes) {
  ekms::EncryptionContext out;
  std::size_t i = 0;
  auto take = [&](std::string& s) {
    if (i >= bytes.size) return false;
    std::size_t n = bytes.data[i++] % 16;
    if (n > bytes.size - i) n = bytes.size - i;
    s.assign(reinterpret_cast<const char*>(bytes.data + i), n);
    i += n;
    return true;
  };
  for (int pair = 0; pair < 3; ++pair) {
    std::string k, v;
    if (!take(k) || !take(v)) break;
    bool dup = false;
    for (auto& [ek, ev] : out) dup = dup || ek == k;
    if (!dup) out.emplace_back(k, v);  // a context is a map: no duplicate keys
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ekms::ByteView rest(data + 1, size - 1);
  const ekms::AlgorithmInfo& alg = ekms::algorithm("SYMMETRIC_DEFAULT");

  switch (mode % 3) {
    case 0:
    case 1: {
      fuzz::tolerate([&] {
        ekms::CiphertextParts parts = ekms::parseCiphertext(rest);
        // Whatever parses must describe slices of the blob itself.
        FUZZ_CHECK(parts.header.data == rest.data);
        FUZZ_CHECK(parts.tag.data + parts.tag.size == rest.data + rest.size);
        FUZZ_CHECK(parts.body.data + parts.body.size == parts.tag.data);
        FUZZ_CHECK(parts.materialId.size() == 2 * ekms::kMaterialIdLen);
      });
      ekms::EncryptionContext ctx =
          mode % 3 == 0 ? fixedContext() : contextFrom(ekms::ByteView(rest.data + rest.size / 2, rest.size - rest.size / 2));
      fuzz::tolerate([&] { (void)key().decrypt(alg, rest, ctx); });
      break;
    }
    case 2: {
      const std::size_t split = rest.size / 2;
      ekms::ByteView plaintext(rest.data, split);
      ekms::EncryptionContext ctx = contextFrom(ekms::ByteView(rest.data + split, rest.size - split));
      ekms::Bytes ct = key().encrypt(alg, plaintext, ctx);
      ekms::SecretBytes back = key().decrypt(alg, ct, ctx);
      FUZZ_CHECK(back.size() == plaintext.size && (plaintext.size == 0 || std::memcmp(back.data(), plaintext.data, plaintext.size) == 0));
      ekms::Bytes bad = ct;
      bad[(static_cast<std::size_t>(mode) * 131u) % bad.size()] ^= static_cast<uint8_t>(1u << (mode % 8));
      bool rejected = !fuzz::tolerate([&] { (void)key().decrypt(alg, bad, ctx); });
      FUZZ_CHECK(rejected);
      // Another context must not decrypt either (unless it encodes identically: same map).
      ekms::EncryptionContext other = ctx;
      other.emplace_back("\x01extra", "x");
      FUZZ_CHECK(!fuzz::tolerate([&] { (void)key().decrypt(alg, ct, other); }));
      break;
    }
  }
  return 0;
}
