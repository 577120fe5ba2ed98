// Key wrapping: a blob never contains the key bytes, and unwraps only under the same root key
// and the same key identity.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "check.hpp"
#include "ekms/root_key.hpp"
#include "ekms/software_key.hpp"

using namespace ekms;

namespace {

const KeyIdentity kId{"1234abcd-12ab-34cd-56ef-1234567890ab", "ECC_NIST_P256", std::string(64, 'a')};

bool contains(const Bytes& hay, const SecretBytes& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

std::string tempPath(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / ("ekms-native-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

}  // namespace

TEST(wrapped_blob_does_not_contain_private_key) {
  auto root = RootKey::fromBytes(randomBytes(32));
  for (const char* spec : {"ECC_NIST_P256", "RSA_2048", "ECC_NIST_EDWARDS25519", "SYMMETRIC_DEFAULT", "HMAC_256"}) {
    KeyIdentity id{kId.keyId, spec, kId.materialId};
    GeneratedKey g = generateMaterial(spec);
    Bytes blob = root->wrap(id, g.material);
    CHECK(!contains(blob, g.material));
    // Not even a 16-byte window of the material appears in the blob.
    SecretBytes window(g.material.end() - 16, g.material.end());
    CHECK(!contains(blob, window));
    CHECK(root->unwrap(id, blob) == g.material);
  }
}

TEST(unwrap_fails_under_other_identity_or_root) {
  auto root = RootKey::fromBytes(randomBytes(32));
  auto other = RootKey::fromBytes(randomBytes(32));
  GeneratedKey g = generateMaterial("ECC_NIST_P256");
  Bytes blob = root->wrap(kId, g.material);
  KeyIdentity otherKey = kId;
  otherKey.keyId = "ffffffff-12ab-34cd-56ef-1234567890ab";
  KeyIdentity otherSpec = kId;
  otherSpec.keySpec = "ECC_NIST_P384";
  KeyIdentity otherMaterial = kId;
  otherMaterial.materialId = std::string(64, 'b');
  CHECK_THROWS_CODE(root->unwrap(otherKey, blob), ErrorCode::InvalidKeyBlob);
  CHECK_THROWS_CODE(root->unwrap(otherSpec, blob), ErrorCode::InvalidKeyBlob);
  CHECK_THROWS_CODE(root->unwrap(otherMaterial, blob), ErrorCode::InvalidKeyBlob);
  CHECK_THROWS_CODE(other->unwrap(kId, blob), ErrorCode::InvalidKeyBlob);
  CHECK(root->checkValue() != other->checkValue());
}

TEST(every_byte_of_a_wrapped_blob_is_authenticated) {
  auto root = RootKey::fromBytes(randomBytes(32));
  SecretBytes material = randomSecret(32);
  KeyIdentity id{kId.keyId, "SYMMETRIC_DEFAULT", kId.materialId};
  Bytes blob = root->wrap(id, material);
  for (std::size_t i = 0; i < blob.size(); ++i) {
    Bytes bad = blob;
    bad[i] ^= 0x01;
    CHECK_THROWS_CODE(root->unwrap(id, bad), ErrorCode::InvalidKeyBlob);
  }
  for (std::size_t n = 0; n < blob.size(); ++n) {
    Bytes cut(blob.begin(), blob.begin() + static_cast<long>(n));
    CHECK_THROWS_CODE(root->unwrap(id, cut), ErrorCode::InvalidKeyBlob);
  }
}

TEST(root_key_file_is_created_0600_and_reopened) {
  std::string path = tempPath("root.key");
  std::filesystem::remove(path);
  CHECK_THROWS_CODE(RootKey::open(path, false), ErrorCode::RootKey);
  auto created = RootKey::open(path, true);
  struct stat st{};
  CHECK(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto reopened = RootKey::open(path, true);
  CHECK(created->checkValue() == reopened->checkValue());
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "not a root key";
  }
  CHECK_THROWS_CODE(RootKey::open(path, false), ErrorCode::RootKey);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_MAIN
