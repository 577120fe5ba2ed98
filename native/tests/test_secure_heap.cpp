// OpenSSL's secure heap for key material (secure_heap.hpp): KeyBytes and OpenSSL's private key
// parts go there, transient SecretBytes do not, a full heap falls back to the ordinary one, and
// a KeyCache under secure-heap pressure evicts instead of failing to load keys.
#include <openssl/crypto.h>

#include "check.hpp"
#include "ekms/key_cache.hpp"
#include "ekms/secure_heap.hpp"
#include "ekms/software_key.hpp"

using namespace ekms;

TEST(secure_heap_holds_key_material_and_overflows_to_the_ordinary_heap) {
  SecureHeapStatus s = initSecureHeap(16384);
  CHECK(s.enabled);
  CHECK(s.size == 16384);
  CHECK(initSecureHeap(1 << 20).size == 16384);  // once per process
  KeyBytes key(32, 7);
  CHECK(CRYPTO_secure_allocated(key.data()) == 1);
  SecretBytes transient(32, 7);
  CHECK(CRYPTO_secure_allocated(transient.data()) == 0);
  // More than the heap holds: the rest comes from the ordinary heap, and nothing fails.
  std::vector<KeyBytes> many;
  for (int i = 0; i < 100; ++i) many.emplace_back(512, static_cast<uint8_t>(i));
  CHECK(CRYPTO_secure_allocated(many.back().data()) == 0);
  CHECK(many.back()[511] == 99);
  many.clear();
  CHECK(secureHeapStatus().used < 1024);
}

TEST(a_key_cache_under_pressure_evicts_instead_of_failing) {
  auto root = RootKey::fromBytes(randomBytes(32));
  KeyCache cache(100000);
  std::vector<std::unique_ptr<WrappedKeySource>> sources;
  const std::string material(64, 'a');
  for (int i = 0; i < 400; ++i) {
    KeyIdentity id{"key-" + std::to_string(i), "ECC_NIST_P256", material};
    GeneratedKey g = generateMaterial(id.keySpec);
    sources.push_back(std::make_unique<WrappedKeySource>(root, id, root->wrap(id, g.material)));
    auto key = cache.get(*sources.back());
    CHECK(key != nullptr);
  }
  CHECK(cache.size() < 400);  // some were evicted to keep room in 16 KiB
  CHECK(cache.size() > 0);
  // Every key still works (loaded again when it was evicted).
  for (auto& source : sources) {
    auto key = cache.get(*source);
    key->sign(algorithm("ECDSA_SHA_256"), false, std::string("m"));
  }
  cache.close();
}

TEST_MAIN
