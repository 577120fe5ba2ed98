#include "env_number.hpp"

#include <cstdlib>

namespace binding {

EnvNumber readEnvNumber(const char* name, std::size_t fallback, std::size_t min, std::size_t max) {
  EnvNumber out;
  out.name = name;
  out.used = fallback;
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return out;
  out.value = v;
  // Digits only: strtoull alone would take " 5", "+5" and "-1" (as 2^64 - 1).
  std::size_t n = 0;
  bool huge = false;
  for (const char* p = v; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') {
      out.problem = EnvNumber::Problem::NotANumber;
      return out;
    }
    const std::size_t digit = static_cast<std::size_t>(*p - '0');
    // n * 10 + digit > max: past max already; stop growing, keep checking digits.
    if (digit > max || n > (max - digit) / 10) huge = true;
    if (!huge) n = n * 10 + digit;
  }
  if (huge) {
    out.problem = EnvNumber::Problem::TooLarge;
    out.used = max;
  } else if (n < min) {
    out.problem = EnvNumber::Problem::NotANumber;
  } else {
    out.used = n;
  }
  return out;
}

}  // namespace binding
