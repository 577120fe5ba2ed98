// Whole numbers the addon reads from environment variables itself (the secure heap's size, the
// token threads), with what it made of a value it could not use as given. The rules live here
// only: JavaScript says what the addon reports (envSettings(), src/native/addon.ts), so a warning
// cannot disagree with what the addon does.
#pragma once

#include <cstddef>
#include <string>

namespace binding {

struct EnvNumber {
  enum class Problem { None, NotANumber, TooLarge };
  const char* name = "";
  std::string value;  // as set; empty when unset
  Problem problem = Problem::None;
  std::size_t used = 0;  // what the addon uses
};

// `name`'s value when it is a whole decimal number (digits only) from `min` to `max`; more than
// `max` is `max`. Unset or empty: `fallback`, which is no problem. Anything else (a sign, spaces,
// a unit, less than `min`): `fallback`, reported as NotANumber.
EnvNumber readEnvNumber(const char* name, std::size_t fallback, std::size_t min, std::size_t max);

}  // namespace binding
