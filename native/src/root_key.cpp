#include "ekms/root_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "ekms/aead.hpp"
#include "ekms/error.hpp"

namespace ekms {

namespace {

// File layout: magic, version, 32 key bytes. The magic lets us say "this is not a root key file"
// instead of failing later with an unwrap error.
constexpr char kMagic[8] = {'E', 'K', 'M', 'S', 'R', 'O', 'O', 'T'};
constexpr uint8_t kFileVersion = 1;
constexpr std::size_t kKeyLen = 32;
constexpr std::size_t kFileLen = sizeof kMagic + 1 + kKeyLen;
constexpr uint8_t kBlobVersion = 1;

[[noreturn]] void rootError(const std::string& what, const std::string& path) {
  throw Error(ErrorCode::RootKey, what + " (" + path + ")");
}

bool readFile(const std::string& path, SecretBytes& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    rootError(std::string("cannot read the root key file: ") + std::strerror(errno), path);
  }
  out.assign(kFileLen + 1, 0);
  const std::size_t got = readUpTo(fd, out.data(), out.size());
  ::close(fd);
  out.resize(got);
  return true;
}

SecretBytes fileContents(ByteView key) {
  SecretBytes contents(kMagic, kMagic + sizeof kMagic);
  contents.push_back(kFileVersion);
  contents.insert(contents.end(), key.data, key.data + key.size);
  return contents;
}

// The key bytes inside a root key file's contents, after checking magic, version and length.
ByteView keyOfFile(const SecretBytes& file, const std::string& path) {
  if (file.size() != kFileLen || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    rootError("not an embedded-kms root key file", path);
  if (file[sizeof kMagic] != kFileVersion)
    rootError("root key file version " + std::to_string(file[sizeof kMagic]) + " is not supported", path);
  return ByteView(file.data() + sizeof kMagic + 1, kKeyLen);
}

void appendLengthPrefixed(Bytes& out, const std::string& s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
  out.insert(out.end(), s.begin(), s.end());
}

Bytes wrapAad(const KeyIdentity& id) {
  static const std::string kLabel = "ekms key wrap v1";
  Bytes aad(kLabel.begin(), kLabel.end());
  appendLengthPrefixed(aad, id.keyId);
  appendLengthPrefixed(aad, id.keySpec);
  appendLengthPrefixed(aad, id.materialId);
  return aad;
}

}  // namespace

std::size_t readUpTo(int fd, uint8_t* out, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, out + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

void writeNewFile(const std::string& path, ByteView contents, bool exclusive, const std::string& what) {
  // pid and random bits: a file left by a killed process whose pid is reused must not collide.
  Bytes salt = randomBytes(4);
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string((uint32_t{salt[0]} << 24) | (uint32_t{salt[1]} << 16) | (uint32_t{salt[2]} << 8) | salt[3]);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) rootError("cannot create the " + what + ": " + std::strerror(errno), tmp);
  std::size_t done = 0;
  while (done < contents.size) {
    ssize_t n = ::write(fd, contents.data + done, contents.size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      rootError("cannot write the " + what, tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    rootError("cannot sync the " + what, tmp);
  }
  ::close(fd);
  // link() refuses to replace an existing file, so a racing process that created the file first
  // wins (the root key: we read its key afterwards instead of clobbering it).
  int rc = ::link(tmp.c_str(), path.c_str());
  int linkErrno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && (exclusive || linkErrno != EEXIST))
    rootError("cannot place the " + what + ": " + std::strerror(linkErrno), path);
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Bytes randomBytes(std::size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) throwOpenssl("RAND_bytes");
  return out;
}

SecretBytes randomSecret(std::size_t n) {
  SecretBytes out(n);
  if (n > 0 && RAND_priv_bytes(out.data(), static_cast<int>(n)) != 1) throwOpenssl("RAND_priv_bytes");
  return out;
}

SecretBytes hkdfSha256(ByteView ikm, const std::string& info, std::size_t len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) throwOpenssl("HKDF fetch");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) throwOpenssl("HKDF ctx");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data), ikm.size),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(len);
  int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) throwOpenssl("HKDF derive");
  return out;
}

RootKey::RootKey(SecretBytes key)
    : wrapKey_(toKeyBytes(hkdfSha256(key, "ekms root key: wrapping", 32))) {
  SecretBytes check = hkdfSha256(key, "ekms root key: check value", 16);
  check_.assign(check.begin(), check.end());
}

std::shared_ptr<const RootKey> RootKey::fromBytes(ByteView key) {
  if (key.size != kKeyLen) throw Error(ErrorCode::RootKey, "a root key is 32 bytes");
  return std::make_shared<const RootKey>(toSecret(key));
}

std::shared_ptr<const RootKey> RootKey::open(const std::string& path, bool create) {
  SecretBytes file;
  if (!readFile(path, file)) {
    if (!create) rootError("the root key file is missing", path);
    writeNewFile(path, fileContents(randomSecret(kKeyLen)), false, "root key file");
    if (!readFile(path, file)) rootError("the root key file vanished after creation", path);
  }
  return fromBytes(keyOfFile(file, path));
}

SecretBytes readRootKeyFile(const std::string& path) {
  SecretBytes file;
  if (!readFile(path, file)) rootError("the root key file is missing", path);
  return toSecret(keyOfFile(file, path));
}

void writeRootKeyFile(const std::string& path, ByteView key) {
  if (key.size != kKeyLen) throw Error(ErrorCode::RootKey, "a root key is 32 bytes");
  writeNewFile(path, fileContents(key), true, "root key file");
}

Bytes RootKey::checkValue() const { return check_; }

Bytes RootKey::wrap(const KeyIdentity& id, ByteView material) const {
  Bytes nonce = randomBytes(kGcmNonceLen);
  Bytes out(1 + kGcmNonceLen);
  out[0] = kBlobVersion;
  std::copy(nonce.begin(), nonce.end(), out.begin() + 1);
  gcmSeal(wrapKey_, nonce, wrapAad(id), material, out);
  return out;
}

SecretBytes RootKey::unwrap(const KeyIdentity& id, ByteView blob) const {
  // The blob comes from the store, which another process or a restored backup may have
  // written: parse it as untrusted input.
  if (blob.size < 1 + kGcmNonceLen + kGcmTagLen || blob.data[0] != kBlobVersion)
    throw Error(ErrorCode::InvalidKeyBlob, "wrapped key blob is malformed");
  ByteView nonce(blob.data + 1, kGcmNonceLen);
  const std::size_t bodyLen = blob.size - 1 - kGcmNonceLen - kGcmTagLen;
  ByteView body(blob.data + 1 + kGcmNonceLen, bodyLen);
  ByteView tag(blob.data + blob.size - kGcmTagLen, kGcmTagLen);
  SecretBytes out;
  if (!gcmOpen(wrapKey_, nonce, wrapAad(id), body, tag, out))
    throw Error(ErrorCode::InvalidKeyBlob, "wrapped key blob does not unwrap under this root key and key identity");
  return out;
}

}  // namespace ekms
