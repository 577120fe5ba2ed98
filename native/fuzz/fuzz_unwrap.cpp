// Wrapped key blobs and root key files: RootKey::unwrap on arbitrary blobs (for every key spec
// as identity), the wrap/unwrap round trip and its tamper property, and RootKey::open on
// arbitrary root key file contents (through a memfd, no disk).
//
// Input: mode byte, then
//   mode % 4 == 0: a wrapped blob, unwrapped under the fixed root key; what unwraps is loaded;
//   mode % 4 == 1: a wrapped blob, unwrapped under an identity taken from the blob's tail;
//   mode % 4 == 2: key material; wrap, unwrap (must match), tamper (must fail), load;
//   mode % 4 == 3: the contents of a root key file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "common.hpp"
#include "ekms/software_key.hpp"

namespace {

const ekms::RootKey& root() {
  static const auto r = ekms::RootKey::fromBytes(fuzz::fixedBytes(32, 3));
  return *r;
}

void openRootFile(ekms::ByteView contents) {
  static int fd = -1;
  if (fd < 0) fd = ::memfd_create("ekms-fuzz-root", 0);
  if (fd < 0) return;
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, contents.data, contents.size, 0) != static_cast<ssize_t>(contents.size)) return;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  fuzz::tolerate([&] {
    auto r = ekms::RootKey::open(path, false);
    FUZZ_CHECK(r->checkValue().size() == 16);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ekms::ByteView rest(data + 1, size - 1);
  ekms::KeyIdentity id{fuzz::kKeyId, fuzz::kSpecs[(mode >> 2) % fuzz::kSpecCount], fuzz::kMaterialId};

  switch (mode % 4) {
    case 0:
    case 1: {
      if (mode % 4 == 1 && rest.size > 4) {
        std::size_t n = rest.data[rest.size - 1] % 40;
        if (n > rest.size - 1) n = rest.size - 1;
        id.keyId.assign(reinterpret_cast<const char*>(rest.data + rest.size - 1 - n), n);
      }
      ekms::SecretBytes material;
      if (fuzz::tolerate([&] { material = root().unwrap(id, rest); })) {
        fuzz::tolerate([&] { (void)ekms::loadSoftwareKey(id, material); });
      }
      break;
    }
    case 2: {
      ekms::Bytes blob = root().wrap(id, rest);
      ekms::SecretBytes back = root().unwrap(id, blob);
      FUZZ_CHECK(back.size() == rest.size && (rest.size == 0 || std::memcmp(back.data(), rest.data, rest.size) == 0));
      ekms::Bytes bad = blob;
      bad[(static_cast<std::size_t>(mode) * 97u + rest.size) % bad.size()] ^= 0x20;
      FUZZ_CHECK(!fuzz::tolerate([&] { (void)root().unwrap(id, bad); }));
      ekms::KeyIdentity moved = id;
      moved.keyId += "x";
      FUZZ_CHECK(!fuzz::tolerate([&] { (void)root().unwrap(moved, blob); }));
      break;
    }
    case 3:
      openRootFile(rest);
      break;
  }
  return 0;
}
