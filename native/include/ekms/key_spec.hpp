// Key specs and algorithms the native core knows, parsed from AWS's names. The TS layer decides
// which combinations AWS allows; these tables only say how to do the crypto.
#pragma once

#include <cstddef>
#include <string>

#include <openssl/evp.h>

namespace ekms {

enum class KeyFamily { Rsa, Ec, Ed25519, MlDsa, Aes, Hmac };

struct KeySpecInfo {
  const char* name;   // AWS KeySpec (or data key pair spec)
  KeyFamily family;
  int bits;           // RSA modulus bits, AES/HMAC key bits, 0 for EC
  const char* curve;  // OpenSSL group name for EC, algorithm name for ML-DSA, else nullptr
};

// Throws InvalidInput for names we do not know. The const char* overloads here and below are for
// literals and C strings: through the std::string ones, such an argument becomes a temporary
// string, and GCC 14's -Wdangling-reference takes the returned reference (to a static table
// entry) for one into that temporary.
const KeySpecInfo& keySpec(const char* name);
const KeySpecInfo& keySpec(const std::string& name);

enum class Padding { None, Pkcs1, Pss, Oaep };

struct AlgorithmInfo {
  const char* name;       // AWS signing/encryption/MAC algorithm
  const char* digest;     // OpenSSL digest name, nullptr for pure Ed25519
  std::size_t digestLen;  // bytes
  Padding padding;
  bool ed25519ph;         // ED25519_PH_SHA_512
};

const AlgorithmInfo& algorithm(const char* name);
const AlgorithmInfo& algorithm(const std::string& name);

const EVP_MD* digestOf(const AlgorithmInfo& alg);

// Whether the OpenSSL this build runs has ML-DSA (FIPS 204): from 3.5 on (Debian 13, not 12).
bool mlDsaAvailable();

}  // namespace ekms
