// Proves the sanitizer build is live: ctest expects the sanitizer's own report from each mode
// (EKMS_SANITIZE builds only). If ASan, LSan or UBSan were silently missing (flags dropped, a
// runtime that cannot start under ptrace), these tests fail rather than the suite passing blind.
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "leak") == 0) {
    void* volatile p = std::malloc(77);
    p = nullptr;
    (void)p;
    return 0;
  }
  if (std::strcmp(mode, "overflow") == 0) {
    char* volatile buf = static_cast<char*>(std::malloc(8));
    volatile char c = buf[8];  // heap-buffer-overflow
    std::free(buf);
    return c;
  }
  if (std::strcmp(mode, "ub") == 0) {
    volatile int big = INT_MAX;
    volatile int one = argc;  // 2
    std::printf("%d\n", big + one);  // signed integer overflow
    return 0;
  }
  return 2;
}
