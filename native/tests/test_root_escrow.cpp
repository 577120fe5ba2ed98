// Root key escrow: the root key comes back only with the right passphrase, every byte of the
// file is authenticated, the file never contains the key, and malformed files are refused
// cleanly (they are untrusted input).
#include <algorithm>
#include <filesystem>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "check.hpp"
#include "ekms/root_escrow.hpp"
#include "ekms/root_key.hpp"

using namespace ekms;

namespace {

// The cheapest cost escrow accepts, so the tests run fast; the format is the same.
const EscrowCost kCheap{kMinEscrowLogN, 8, 1};
const std::string kPassphrase = "correct horse battery staple";

bool contains(const Bytes& hay, const SecretBytes& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

std::string tempDir() {
  auto dir = std::filesystem::temp_directory_path() / ("ekms-root-escrow-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST(escrow_round_trips_with_the_right_passphrase_only) {
  SecretBytes key = randomSecret(32);
  Bytes file = sealEscrow(key, kPassphrase, kCheap);
  CHECK(!contains(file, key));
  CHECK(openEscrow(file, kPassphrase) == key);
  CHECK(escrowCheckValue(file) == RootKey::fromBytes(key)->checkValue());
  CHECK_THROWS_CODE(openEscrow(file, std::string("correct horse battery stapler")), ErrorCode::RootKey);
  CHECK_THROWS_CODE(openEscrow(file, std::string()), ErrorCode::RootKey);
  // Two escrows of one key differ (fresh salt and nonce).
  CHECK(sealEscrow(key, kPassphrase, kCheap) != file);
}

TEST(every_field_of_an_escrow_file_is_checked) {
  SecretBytes key = randomSecret(32);
  Bytes file = sealEscrow(key, kPassphrase, kCheap);
  // Every header byte up to the salt, then the first and last byte of each later field (salt,
  // check value, nonce, ciphertext, tag): each flip runs scrypt, which is what costs time here.
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < 19; ++i) positions.push_back(i);
  for (std::size_t start : {std::size_t{19}, std::size_t{35}, std::size_t{51}, std::size_t{63}, std::size_t{95}}) {
    positions.push_back(start);
    positions.push_back(start + (start == 51 ? 11 : start == 63 ? 31 : 15));
  }
  CHECK(positions.back() == file.size() - 1);
  for (std::size_t i : positions) {
    Bytes bad = file;
    bad[i] ^= 0x01;
    bool threw = false;
    try {
      (void)openEscrow(bad, kPassphrase);
    } catch (const Error&) {
      threw = true;  // InvalidInput (header) or RootKey (authentication): either way, no key
    }
    CHECK(threw);
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{8}, file.size() - 1}) {
    Bytes cut(file.begin(), file.begin() + static_cast<long>(n));
    CHECK_THROWS_CODE(openEscrow(cut, kPassphrase), ErrorCode::InvalidInput);
  }
  Bytes longer = file;
  longer.push_back(0);
  CHECK_THROWS_CODE(openEscrow(longer, kPassphrase), ErrorCode::InvalidInput);
}

TEST(escrow_costs_outside_the_bounds_are_refused) {
  SecretBytes key = randomSecret(32);
  CHECK_THROWS_CODE(sealEscrow(key, kPassphrase, EscrowCost{13, 8, 1}), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(sealEscrow(key, kPassphrase, EscrowCost{23, 8, 1}), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(sealEscrow(key, kPassphrase, EscrowCost{17, 0, 1}), ErrorCode::InvalidInput);
  // 2^22 · 128 · 8 is 4 GiB: a crafted file asking for that is refused before any allocation.
  Bytes file = sealEscrow(key, kPassphrase, kCheap);
  file[8 + 2] = 22;
  CHECK_THROWS_CODE(openEscrow(file, kPassphrase), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(sealEscrow(randomSecret(31), kPassphrase, kCheap), ErrorCode::RootKey);
}

TEST(escrow_files_recover_a_root_key_file) {
  std::string dir = tempDir();
  SecretBytes key = randomSecret(32);
  writeRootKeyFile(dir + "/root.key", key);
  Bytes check = escrowRootKeyFile(dir + "/root.key", kPassphrase, dir + "/escrow", kCheap);
  CHECK(check == RootKey::fromBytes(key)->checkValue());
  CHECK(escrowFileCheckValue(dir + "/escrow") == check);
  struct stat st {};
  CHECK(::stat((dir + "/escrow").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Never overwrites: neither an existing escrow file nor an existing root key.
  CHECK_THROWS_CODE(escrowRootKeyFile(dir + "/root.key", kPassphrase, dir + "/escrow", kCheap), ErrorCode::RootKey);
  CHECK_THROWS_CODE(recoverRootKeyFile(dir + "/escrow", kPassphrase, dir + "/root.key"), ErrorCode::RootKey);
  CHECK_THROWS_CODE(recoverRootKeyFile(dir + "/escrow", std::string("wrong"), dir + "/recovered"), ErrorCode::RootKey);
  CHECK(!std::filesystem::exists(dir + "/recovered"));
  CHECK(recoverRootKeyFile(dir + "/escrow", kPassphrase, dir + "/recovered") == check);
  CHECK(readRootKeyFile(dir + "/recovered") == key);
  CHECK_THROWS_CODE(escrowFileCheckValue(dir + "/root.key"), ErrorCode::InvalidInput);
  CHECK_THROWS_CODE(escrowFileCheckValue(dir + "/missing"), ErrorCode::RootKey);
  std::filesystem::remove_all(dir);
}

TEST_MAIN
