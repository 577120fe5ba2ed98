// Root key escrow files are parsed as untrusted input: openEscrow and escrowCheckValue on
// arbitrary bytes. (A file whose header parses runs scrypt at its stated cost, which the parser
// bounds; such inputs are slow but legitimate.)
#include <cstdint>

#include "common.hpp"
#include "ekms/root_escrow.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ekms::ByteView file(data, size);
  fuzz::tolerate([&] { (void)ekms::escrowCheckValue(file); });
  static const std::string passphrase = "correct horse battery staple";
  fuzz::tolerate([&] {
    ekms::SecretBytes key = ekms::openEscrow(file, passphrase);
    FUZZ_CHECK(key.size() == 32);
  });
  return 0;
}
