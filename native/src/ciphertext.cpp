#include "ekms/ciphertext.hpp"

#include <algorithm>

#include "ekms/aead.hpp"
#include "ekms/error.hpp"

namespace ekms {

namespace {

void appendU32(Bytes& out, std::size_t n) {
  const auto v = static_cast<uint32_t>(n);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

[[noreturn]] void invalid() { throw Error(ErrorCode::InvalidCiphertext, "ciphertext is not valid"); }

}  // namespace

std::string toHex(ByteView bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size * 2);
  for (std::size_t i = 0; i < bytes.size; ++i) {
    out.push_back(digits[bytes.data[i] >> 4]);
    out.push_back(digits[bytes.data[i] & 0xf]);
  }
  return out;
}

bool fromHex(const std::string& hex, Bytes& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

CiphertextParts parseCiphertext(ByteView blob) {
  // Minimum: version, id length, a 1-byte id, material id, nonce, tag (an empty body is not a
  // valid KMS ciphertext, but it is not ours to reject structurally).
  if (blob.size < 2 || blob.data[0] != kCiphertextVersion) invalid();
  const std::size_t idLen = blob.data[1];
  const std::size_t headerLen = 2 + idLen + kMaterialIdLen + kGcmNonceLen;
  if (idLen == 0 || blob.size < headerLen + kGcmTagLen) invalid();
  CiphertextParts parts;
  parts.keyId.assign(reinterpret_cast<const char*>(blob.data + 2), idLen);
  for (char c : parts.keyId)
    if (c < 0x21 || c > 0x7e) invalid();  // key ids are printable ASCII
  parts.materialId = toHex(ByteView(blob.data + 2 + idLen, kMaterialIdLen));
  parts.header = ByteView(blob.data, headerLen);
  parts.nonce = ByteView(blob.data + 2 + idLen + kMaterialIdLen, kGcmNonceLen);
  parts.body = ByteView(blob.data + headerLen, blob.size - headerLen - kGcmTagLen);
  parts.tag = ByteView(blob.data + blob.size - kGcmTagLen, kGcmTagLen);
  return parts;
}

void writeCiphertextHeader(const std::string& keyId, const std::string& materialIdHex, ByteView nonce, Bytes& out) {
  Bytes material;
  if (keyId.empty() || keyId.size() > 255) throw Error(ErrorCode::InvalidInput, "key id length");
  if (!fromHex(materialIdHex, material) || material.size() != kMaterialIdLen)
    throw Error(ErrorCode::InvalidInput, "material id must be 64 hex characters");
  out.push_back(kCiphertextVersion);
  out.push_back(static_cast<uint8_t>(keyId.size()));
  out.insert(out.end(), keyId.begin(), keyId.end());
  out.insert(out.end(), material.begin(), material.end());
  out.insert(out.end(), nonce.data, nonce.data + nonce.size);
}

Bytes encodeContext(EncryptionContext context) {
  std::sort(context.begin(), context.end());
  Bytes out;
  appendU32(out, context.size());
  for (const auto& [key, value] : context) {
    appendU32(out, key.size());
    out.insert(out.end(), key.begin(), key.end());
    appendU32(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

Bytes ciphertextAad(ByteView header, const EncryptionContext& context) {
  Bytes aad(header.data, header.data + header.size);
  Bytes encoded = encodeContext(context);
  aad.insert(aad.end(), encoded.begin(), encoded.end());
  return aad;
}

}  // namespace ekms
