#include "ekms/root_escrow.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "ekms/aead.hpp"
#include "ekms/error.hpp"
#include "ekms/root_key.hpp"

namespace ekms {

namespace {

// Layout (big-endian integers):
//   magic "EKMSESCR" | version 1 | kdf 1 (scrypt) | logN | r (4) | p (4) | salt (16)
//   | root key check value (16) | nonce (12) | AES-256-GCM(root key) (32) | tag (16)
// The associated data is everything before the nonce.
constexpr char kMagic[8] = {'E', 'K', 'M', 'S', 'E', 'S', 'C', 'R'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKdfScrypt = 1;
constexpr std::size_t kSaltLen = 16;
constexpr std::size_t kCheckLen = 16;
constexpr std::size_t kKeyLen = 32;
constexpr std::size_t kHeaderLen = sizeof kMagic + 1 + 1 + 1 + 4 + 4 + kSaltLen + kCheckLen;
constexpr std::size_t kFileLen = kHeaderLen + kGcmNonceLen + kKeyLen + kGcmTagLen;
// More than this much scrypt memory is refused when opening, so a crafted file cannot make us
// allocate without bound.
constexpr uint64_t kMaxMemory = uint64_t{1} << 30;

void putU32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

uint32_t getU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t scryptMemory(const EscrowCost& cost) {
  // scrypt's working set: 128·r·N for V plus 128·r·p for B (and a little more).
  return 128 * uint64_t{cost.r} * ((uint64_t{1} << cost.logN) + uint64_t{cost.p} + 2);
}

void checkCost(const EscrowCost& cost) {
  if (cost.logN < kMinEscrowLogN || cost.logN > kMaxEscrowLogN || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16 ||
      scryptMemory(cost) > kMaxMemory)
    throw Error(ErrorCode::InvalidInput, "escrow scrypt cost out of range");
}

SecretBytes scrypt(ByteView passphrase, ByteView salt, const EscrowCost& cost) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  if (kdf == nullptr) throwOpenssl("scrypt fetch");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) throwOpenssl("scrypt ctx");
  uint64_t n = uint64_t{1} << cost.logN;
  uint32_t r = cost.r;
  uint32_t p = cost.p;
  uint64_t maxmem = scryptMemory(cost) + (uint64_t{1} << 20);
  // An empty passphrase still needs a valid pointer for OpenSSL.
  static const uint8_t kEmpty = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<uint8_t*>(passphrase.size == 0 ? &kEmpty : passphrase.data), passphrase.size),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data), salt.size),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(kKeyLen);
  int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) throwOpenssl("scrypt derive");
  return out;
}

Bytes readSmallFile(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::RootKey, "cannot read the " + what + ": " + std::strerror(errno) + " (" + path + ")");
  Bytes out(kFileLen + 1);
  const std::size_t got = readUpTo(fd, out.data(), out.size());
  ::close(fd);
  out.resize(got);
  return out;
}

// Checks everything but the ciphertext and returns the cost it names.
EscrowCost parseHeader(ByteView file) {
  if (file.size != kFileLen || std::memcmp(file.data, kMagic, sizeof kMagic) != 0)
    throw Error(ErrorCode::InvalidInput, "not an embedded-kms root key escrow file");
  const uint8_t* p = file.data + sizeof kMagic;
  if (p[0] != kVersion) throw Error(ErrorCode::InvalidInput, "escrow file version " + std::to_string(p[0]) + " is not supported");
  if (p[1] != kKdfScrypt) throw Error(ErrorCode::InvalidInput, "escrow file names an unknown key derivation");
  EscrowCost cost;
  cost.logN = p[2];
  cost.r = getU32(p + 3);
  cost.p = getU32(p + 7);
  checkCost(cost);
  return cost;
}

}  // namespace

Bytes sealEscrow(ByteView rootKey, ByteView passphrase, const EscrowCost& cost) {
  if (rootKey.size != kKeyLen) throw Error(ErrorCode::RootKey, "a root key is 32 bytes");
  checkCost(cost);
  Bytes salt = randomBytes(kSaltLen);
  Bytes out(kMagic, kMagic + sizeof kMagic);
  out.push_back(kVersion);
  out.push_back(kKdfScrypt);
  out.push_back(cost.logN);
  putU32(out, cost.r);
  putU32(out, cost.p);
  out.insert(out.end(), salt.begin(), salt.end());
  Bytes check = RootKey::fromBytes(rootKey)->checkValue();
  out.insert(out.end(), check.begin(), check.end());
  Bytes aad = out;
  Bytes nonce = randomBytes(kGcmNonceLen);
  out.insert(out.end(), nonce.begin(), nonce.end());
  SecretBytes key = scrypt(passphrase, salt, cost);
  gcmSeal(key, nonce, aad, rootKey, out);
  return out;
}

SecretBytes openEscrow(ByteView file, ByteView passphrase) {
  EscrowCost cost = parseHeader(file);
  ByteView aad(file.data, kHeaderLen);
  ByteView salt(file.data + kHeaderLen - kCheckLen - kSaltLen, kSaltLen);
  ByteView check(file.data + kHeaderLen - kCheckLen, kCheckLen);
  ByteView nonce(file.data + kHeaderLen, kGcmNonceLen);
  ByteView body(file.data + kHeaderLen + kGcmNonceLen, kKeyLen);
  ByteView tag(file.data + kHeaderLen + kGcmNonceLen + kKeyLen, kGcmTagLen);
  SecretBytes key = scrypt(passphrase, salt, cost);
  SecretBytes rootKey;
  if (!gcmOpen(key, nonce, aad, body, tag, rootKey))
    throw Error(ErrorCode::RootKey, "the passphrase does not open this escrow file (or the file was altered)");
  // The tag already covers the check value; this catches a file sealed by a buggy writer.
  if (RootKey::fromBytes(rootKey)->checkValue() != toBytes(check))
    throw Error(ErrorCode::RootKey, "the escrow file's root key does not match its check value");
  return rootKey;
}

Bytes escrowCheckValue(ByteView file) {
  parseHeader(file);
  return Bytes(file.data + kHeaderLen - kCheckLen, file.data + kHeaderLen);
}

Bytes escrowRootKeyFile(const std::string& rootKeyPath, ByteView passphrase, const std::string& escrowPath,
                        const EscrowCost& cost) {
  SecretBytes rootKey = readRootKeyFile(rootKeyPath);
  Bytes sealed = sealEscrow(rootKey, passphrase, cost);
  writeNewFile(escrowPath, sealed, true, "escrow file");
  return escrowCheckValue(sealed);
}

Bytes recoverRootKeyFile(const std::string& escrowPath, ByteView passphrase, const std::string& rootKeyPath) {
  Bytes file = readSmallFile(escrowPath, "escrow file");
  SecretBytes rootKey = openEscrow(file, passphrase);
  writeRootKeyFile(rootKeyPath, rootKey);
  return RootKey::fromBytes(rootKey)->checkValue();
}

Bytes escrowFileCheckValue(const std::string& escrowPath) { return escrowCheckValue(readSmallFile(escrowPath, "escrow file")); }

}  // namespace ekms
