// A minimal test harness for the native core: each test is a function; CHECK records a failure
// and goes on; main() runs them all and returns non-zero when any failed (ctest reads that).
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "ekms/error.hpp"

namespace check {

struct Test {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Test>& registry() {
  static std::vector<Test> tests;
  return tests;
}
inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what.c_str());
  ++failures();
}

inline int runAll() {
  int failedTests = 0;
  for (const auto& t : registry()) {
    int before = failures();
    try {
      t.fn();
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    bool ok = failures() == before;
    if (!ok) ++failedTests;
    std::printf("%s %s\n", ok ? "ok" : "not ok", t.name);
  }
  std::printf("%zu passed, %d failed\n", registry().size() - static_cast<std::size_t>(failedTests), failedTests);
  return failedTests == 0 ? 0 : 1;
}

}  // namespace check

#define TEST(name)                                     \
  static void name();                                  \
  static check::Register name##_registration(#name, name); \
  static void name()

#define CHECK(cond) \
  do {              \
    if (!(cond)) check::fail(__FILE__, __LINE__, #cond); \
  } while (0)

// Runs expr and checks it throws ekms::Error with the given code.
#define CHECK_THROWS_CODE(expr, expected)                                              \
  do {                                                                                 \
    bool threw_ = false;                                                               \
    try {                                                                              \
      (void)(expr);                                                                    \
    } catch (const ekms::Error& e_) {                                                  \
      threw_ = true;                                                                   \
      if (e_.code() != (expected))                                                     \
        check::fail(__FILE__, __LINE__, std::string("wrong code for ") + #expr + ": " + e_.what()); \
    }                                                                                  \
    if (!threw_) check::fail(__FILE__, __LINE__, std::string("no throw: ") + #expr);   \
  } while (0)

#define TEST_MAIN \
  int main() { return check::runAll(); }
