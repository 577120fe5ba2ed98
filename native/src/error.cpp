#include "ekms/error.hpp"

#include <openssl/err.h>

namespace ekms {

const char* errorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidInput: return "EKMS_INVALID_INPUT";
    case ErrorCode::InvalidCiphertext: return "EKMS_INVALID_CIPHERTEXT";
    case ErrorCode::InvalidSignature: return "EKMS_INVALID_SIGNATURE";
    case ErrorCode::InvalidMac: return "EKMS_INVALID_MAC";
    case ErrorCode::InvalidKeyBlob: return "EKMS_INVALID_KEY_BLOB";
    case ErrorCode::IncorrectKey: return "EKMS_INCORRECT_KEY";
    case ErrorCode::Unsupported: return "EKMS_UNSUPPORTED";
    case ErrorCode::RootKey: return "EKMS_ROOT_KEY";
    case ErrorCode::KeyUnavailable: return "EKMS_KEY_UNAVAILABLE";
    case ErrorCode::KeyMaterialGone: return "EKMS_KEY_MATERIAL_GONE";
    case ErrorCode::Internal: return "EKMS_INTERNAL";
  }
  return "EKMS_INTERNAL";
}

void clearOpensslErrors() noexcept { ERR_clear_error(); }

void throwOpenssl(const char* what) {
  std::string message(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    message += ": ";
    message += buf;
  }
  ERR_clear_error();
  throw Error(ErrorCode::Internal, message);
}

}  // namespace ekms
