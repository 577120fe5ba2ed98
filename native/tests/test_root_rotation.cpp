// Root key rotation's native half: a blob re-wrapped from one root key to another unwraps under
// the new root key only, to the same material, and a blob from the wrong store is refused.
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "check.hpp"
#include "ekms/root_key.hpp"
#include "ekms/root_rotation.hpp"
#include "ekms/software_key.hpp"

using namespace ekms;

namespace {

const KeyIdentity kId{"1234abcd-12ab-34cd-56ef-1234567890ab", "SYMMETRIC_DEFAULT", std::string(64, 'a')};

std::string tempDir() {
  auto dir = std::filesystem::temp_directory_path() / ("ekms-root-rotation-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST(rewrapped_blob_unwraps_under_the_new_root_only) {
  auto oldRoot = RootKey::fromBytes(randomBytes(32));
  auto newRoot = RootKey::fromBytes(randomBytes(32));
  RootRewrapper rewrapper(oldRoot, newRoot);
  CHECK(rewrapper.fromCheck() == oldRoot->checkValue());
  CHECK(rewrapper.toCheck() == newRoot->checkValue());
  for (const char* spec : {"SYMMETRIC_DEFAULT", "ECC_NIST_P256", "RSA_2048", "HMAC_256"}) {
    KeyIdentity id{kId.keyId, spec, kId.materialId};
    GeneratedKey g = generateMaterial(spec);
    Bytes blob = oldRoot->wrap(id, g.material);
    Bytes rewrapped = rewrapper.rewrap(id, blob);
    CHECK(rewrapped != blob);
    CHECK(newRoot->unwrap(id, rewrapped) == g.material);
    CHECK_THROWS_CODE(oldRoot->unwrap(id, rewrapped), ErrorCode::InvalidKeyBlob);
    // Identity stays bound: the re-wrapped blob does not move to another key either.
    KeyIdentity other = id;
    other.materialId = std::string(64, 'b');
    CHECK_THROWS_CODE(newRoot->unwrap(other, rewrapped), ErrorCode::InvalidKeyBlob);
  }
}

TEST(rewrap_refuses_a_blob_of_another_root_or_identity) {
  auto oldRoot = RootKey::fromBytes(randomBytes(32));
  auto newRoot = RootKey::fromBytes(randomBytes(32));
  auto stranger = RootKey::fromBytes(randomBytes(32));
  RootRewrapper rewrapper(oldRoot, newRoot);
  SecretBytes material = randomSecret(32);
  CHECK_THROWS_CODE(rewrapper.rewrap(kId, stranger->wrap(kId, material)), ErrorCode::InvalidKeyBlob);
  KeyIdentity other = kId;
  other.keyId = "ffffffff-12ab-34cd-56ef-1234567890ab";
  CHECK_THROWS_CODE(rewrapper.rewrap(other, oldRoot->wrap(kId, material)), ErrorCode::InvalidKeyBlob);
  CHECK_THROWS_CODE(rewrapper.rewrap(kId, Bytes{1, 2, 3}), ErrorCode::InvalidKeyBlob);
}

TEST(created_root_key_file_is_new_0600_and_matches_its_check_value) {
  std::string dir = tempDir();
  std::string path = dir + "/root.key.next";
  Bytes check = createRootKeyFile(path);
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(rootKeyFileCheck(path) == check);
  CHECK(RootKey::open(path, false)->checkValue() == check);
  // Never replaces an existing file (a concurrent rotation's, or the current root key).
  CHECK_THROWS_CODE(createRootKeyFile(path), ErrorCode::RootKey);
  CHECK(rootKeyFileCheck(path) == check);
  // No temporary file is left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
  CHECK_THROWS_CODE(rootKeyFileCheck(dir + "/missing"), ErrorCode::RootKey);
  std::filesystem::remove_all(dir);
}

TEST(root_key_file_bytes_round_trip) {
  std::string dir = tempDir();
  SecretBytes key = randomSecret(32);
  writeRootKeyFile(dir + "/a", key);
  CHECK(readRootKeyFile(dir + "/a") == key);
  CHECK(RootKey::open(dir + "/a", false)->checkValue() == RootKey::fromBytes(key)->checkValue());
  CHECK_THROWS_CODE(writeRootKeyFile(dir + "/a", randomSecret(32)), ErrorCode::RootKey);
  CHECK(readRootKeyFile(dir + "/a") == key);
  CHECK_THROWS_CODE(writeRootKeyFile(dir + "/b", randomSecret(31)), ErrorCode::RootKey);
  {
    std::ofstream bad(dir + "/c", std::ios::binary);
    bad << "EKMSROOT";
  }
  CHECK_THROWS_CODE(readRootKeyFile(dir + "/c"), ErrorCode::RootKey);
  std::filesystem::remove_all(dir);
}

TEST_MAIN
