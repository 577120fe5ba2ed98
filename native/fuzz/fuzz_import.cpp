// ImportKeyMaterial's untrusted inputs: import tokens (openImportToken), EncryptedKeyMaterial
// (RSA-OAEP, and OAEP + AES Key Wrap with Padding, through unwrapKeyMaterial with a fixed
// wrapping key), RFC 5649 unwrapping on its own, and the caller's key material itself
// (checkImportedMaterial: raw AES/HMAC bytes, PKCS#8 of every asymmetric spec).
//
// Input: mode byte, then the token / encrypted material / wrapped bytes / key material.
#include <cstdint>

#include "common.hpp"
#include "ekms/import.hpp"

namespace {

const ekms::RootKey& root() {
  static const auto r = ekms::RootKey::fromBytes(fuzz::fixedBytes(32, 3));
  return *r;
}

const char* const kAlgorithms[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"};

struct Wrapping {
  ekms::ImportParameters params;
  ekms::WrappingKey key;
};

const Wrapping& wrapping(std::size_t i) {
  static Wrapping w[4];
  static bool made[4] = {};
  if (!made[i]) {
    w[i].params = {fuzz::kKeyId, std::string(64, 'a'), "RSA_2048", kAlgorithms[i], 4102444800000};
    w[i].key = ekms::generateWrappingKey(root(), w[i].params);
    made[i] = true;
  }
  return w[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ekms::ByteView rest(data + 1, size - 1);
  switch (mode % 4) {
    case 0: {
      ekms::ImportParameters out;
      fuzz::tolerate([&] {
        if (ekms::openImportToken(root(), fuzz::kKeyId, rest, out)) FUZZ_CHECK(out.keyId == fuzz::kKeyId);
      });
      break;
    }
    case 1: {
      const Wrapping& w = wrapping((mode >> 2) % 4);
      fuzz::tolerate([&] { (void)ekms::unwrapKeyMaterial(root(), w.params, w.key.wrappedPrivateKey, rest); });
      break;
    }
    case 2: {
      const std::size_t kekLen = std::size_t{16} + 8 * ((mode >> 2) % 3);
      ekms::Bytes kek = fuzz::fixedBytes(kekLen, 9);
      fuzz::tolerate([&] { (void)ekms::aesKeyUnwrapPad(kek, rest); });
      // Round trip on the same bytes: wrap then unwrap gives them back.
      if (rest.size > 0 && rest.size <= 4096) {
        ekms::Bytes wrapped = ekms::aesKeyWrapPad(kek, rest);
        ekms::SecretBytes back = ekms::aesKeyUnwrapPad(kek, wrapped);
        FUZZ_CHECK(back.size() == rest.size && std::memcmp(back.data(), rest.data, rest.size) == 0);
      }
      break;
    }
    case 3: {
      const char* spec = fuzz::kSpecs[(mode >> 2) % fuzz::kSpecCount];
      fuzz::tolerate([&] {
        ekms::CheckedMaterial m = ekms::checkImportedMaterial(spec, fuzz::kKeyId, rest);
        FUZZ_CHECK(m.materialId.size() == 64);
      });
      break;
    }
  }
  return 0;
}
