/*
 * A PKCS#11 module that wraps another one and fails chosen calls, so tests can produce faults a
 * software token cannot: a locked PIN, a removed device, a session that dies mid-operation.
 *
 *   EKMS_FAULT_TARGET  path of the real module (e.g. /usr/lib/softhsm/libsofthsm2.so)
 *   EKMS_FAULT_PLAN    rules separated by ',' or ';', each  FUNCTION[@N[+]]=RV
 *                        C_Login=CKR_PIN_LOCKED                 every C_Login fails
 *                        C_SignInit@3=CKR_SESSION_HANDLE_INVALID only the 3rd C_SignInit fails
 *                        C_SignInit@2+=CKR_DEVICE_REMOVED        the 2nd and every later one fail
 *                      RV is a CKR_ name from the table below or a number (0xb3). CKR_OK
 *                      injects nothing: the call goes through and is only logged, so a test can
 *                      tell that it happened (C_CloseSession=CKR_OK: sessions dropped).
 *                      SLEEP:MICROSECONDS makes the call slow instead: it goes through after that
 *                      wait, as a network HSM's would (C_Sign=SLEEP:2000). SPIN:MICROSECONDS
 *                      makes it slow by computing on the calling thread for that long, as a
 *                      token doing the cryptography in the process does (SoftHSM2's RSA).
 *                      LIE makes a call succeed with an answer no module may give: C_FindObjects
 *                      reports one object more than it was given room for, C_GetAttributeValue
 *                      reports every length as CK_UNAVAILABLE_INFORMATION (C_FindObjects=LIE);
 *                      C_Sign, C_Encrypt and C_Decrypt report one byte more than they were given
 *                      room for, or CK_UNAVAILABLE_INFORMATION when only asked for the length.
 *                      PIN_LOCKED (C_GetTokenInfo only) sets CKF_USER_PIN_LOCKED in the token's
 *                      flags: a PIN locked before this process came, by too many wrong tries.
 *   EKMS_FAULT_LOG     optional file; one line "FUNCTION #N RV" is appended per call a rule matched,
 *                      so a test can tell that its fault really happened.
 *   EKMS_FAULT_LOG_THREAD=1  adds " main" or " other" to each line: whether the call ran on the
 *                      process's main thread (the event loop's, in Node) or another one.
 *   EKMS_FAULT_HIDE_MECHANISMS  mechanism numbers separated by ',' (0x1041,0x1087): the token
 *                      does not offer them. C_GetMechanismList leaves them out and
 *                      C_GetMechanismInfo answers CKR_MECHANISM_INVALID, as a token without them
 *                      would; using one is left to the real module (the caller must not try).
 *   EKMS_FAULT_REQUIRE_OS_LOCKING=1  C_Initialize answers CKR_CANT_LOCK unless it is given
 *                      CKF_OS_LOCKING_OK, as a module that needs the OS's locks for threads may.
 *
 * The plan is read, and the call counters reset, at every C_Initialize: a process can finalise
 * the module (last user released it), change the plan and initialise it again. A failed call
 * is not forwarded to the real module.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_RULES 16

enum { F_Initialize, F_Login, F_OpenSession, F_GetSessionInfo, F_GetTokenInfo, F_FindObjectsInit, F_SignInit, F_Sign,
       F_EncryptInit, F_Encrypt, F_DecryptInit, F_Decrypt, F_GenerateKey, F_GenerateKeyPair, F_DeriveKey,
       F_GenerateRandom, F_DestroyObject, F_UnwrapKey, F_SetAttributeValue, F_WrapKey, F_CloseSession, F_GetAttributeValue, F_FindObjects,
       F_Finalize, F_COUNT };

static const char* const kNames[F_COUNT] = {
    "C_Initialize", "C_Login", "C_OpenSession", "C_GetSessionInfo", "C_GetTokenInfo", "C_FindObjectsInit",
    "C_SignInit", "C_Sign", "C_EncryptInit", "C_Encrypt", "C_DecryptInit", "C_Decrypt", "C_GenerateKey",
    "C_GenerateKeyPair", "C_DeriveKey", "C_GenerateRandom", "C_DestroyObject", "C_UnwrapKey", "C_SetAttributeValue",
    "C_WrapKey", "C_CloseSession", "C_GetAttributeValue", "C_FindObjects", "C_Finalize"};

static const struct {
  const char* name;
  CK_RV rv;
} kRvs[] = {
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},         {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},           {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT}, {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},       {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},               {"CKR_PIN_EXPIRED", CKR_PIN_EXPIRED},
    {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID}, {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN}, {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
    {"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},         {"CKR_OK", CKR_OK},
};

struct Rule {
  int fn;
  unsigned long nth; /* 0: every call */
  int andLater;
  CK_RV rv;
  unsigned long slowUs; /* a slow call, not a failed one: waiting that long */
  int spin;             /* ... or computing (slowUs of the calling thread's CPU) */
  int lie;              /* forwarded, then answered as no module may (LIE) */
};

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static CK_FUNCTION_LIST* g_target;
static CK_FUNCTION_LIST g_list;
static struct Rule g_rules[MAX_RULES];
static int g_ruleCount;
static unsigned long g_calls[F_COUNT];
static int g_logFd = -1;
static int g_logThread; /* EKMS_FAULT_LOG_THREAD=1, read at C_Initialize (not while threads call) */
#define MAX_HIDDEN 16
static CK_MECHANISM_TYPE g_hidden[MAX_HIDDEN]; /* EKMS_FAULT_HIDE_MECHANISMS, read at C_Initialize */
static int g_hiddenCount;
static int g_requireOsLocking;

static int functionIndex(const char* name, size_t len) {
  for (int i = 0; i < F_COUNT; ++i)
    if (strlen(kNames[i]) == len && strncmp(kNames[i], name, len) == 0) return i;
  return -1;
}

static int parseRv(const char* text, CK_RV* out) {
  for (size_t i = 0; i < sizeof kRvs / sizeof kRvs[0]; ++i)
    if (strcmp(kRvs[i].name, text) == 0) {
      *out = kRvs[i].rv;
      return 1;
    }
  char* end = NULL;
  unsigned long v = strtoul(text, &end, 0);
  if (end == text || *end != '\0') return 0;
  *out = (CK_RV)v;
  return 1;
}

/* Returns 0 when the plan is malformed: a test with a typo must fail, not pass without faults. */
static int loadPlan(void) {
  g_ruleCount = 0;
  memset(g_calls, 0, sizeof g_calls);
  if (g_logFd >= 0) close(g_logFd);
  const char* logPath = getenv("EKMS_FAULT_LOG");
  g_logFd = logPath != NULL ? open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
  const char* thread = getenv("EKMS_FAULT_LOG_THREAD");
  g_logThread = thread != NULL && strcmp(thread, "1") == 0;
  const char* locking = getenv("EKMS_FAULT_REQUIRE_OS_LOCKING");
  g_requireOsLocking = locking != NULL && strcmp(locking, "1") == 0;
  g_hiddenCount = 0;
  const char* hidden = getenv("EKMS_FAULT_HIDE_MECHANISMS");
  for (const char* p = hidden; p != NULL && *p != '\0';) {
    char* end = NULL;
    unsigned long m = strtoul(p, &end, 0);
    if (end == p || (*end != ',' && *end != '\0') || g_hiddenCount == MAX_HIDDEN) return 0;
    g_hidden[g_hiddenCount++] = (CK_MECHANISM_TYPE)m;
    p = *end == ',' ? end + 1 : end;
  }
  const char* plan = getenv("EKMS_FAULT_PLAN");
  if (plan == NULL) return 1;
  char* copy = strdup(plan);
  char* save = NULL;
  int ok = 1;
  for (char* tok = strtok_r(copy, ",;", &save); tok != NULL && ok; tok = strtok_r(NULL, ",;", &save)) {
    while (*tok == ' ') ++tok;
    if (*tok == '\0') continue;
    char* eq = strchr(tok, '=');
    if (eq == NULL || g_ruleCount == MAX_RULES) {
      ok = 0;
      break;
    }
    *eq = '\0';
    struct Rule r = {0, 0, 0, 0, 0, 0, 0};
    char* at = strchr(tok, '@');
    size_t nameLen = at != NULL ? (size_t)(at - tok) : strlen(tok);
    r.fn = functionIndex(tok, nameLen);
    if (at != NULL) {
      char* end = NULL;
      r.nth = strtoul(at + 1, &end, 10);
      if (end != NULL && *end == '+') {
        r.andLater = 1;
        ++end;
      }
      if (end == NULL || *end != '\0' || r.nth == 0) ok = 0;
    }
    if (strcmp(eq + 1, "PIN_LOCKED") == 0) {
      r.lie = 1; /* the answer's flags are changed, as LIE changes others */
      r.rv = CKR_OK;
      if (r.fn != F_GetTokenInfo) ok = 0;
    } else if (strcmp(eq + 1, "LIE") == 0) {
      r.lie = 1;
      r.rv = CKR_OK;
      if (r.fn != F_FindObjects && r.fn != F_GetAttributeValue && r.fn != F_Sign && r.fn != F_Encrypt && r.fn != F_Decrypt)
        ok = 0;
    } else if (strncmp(eq + 1, "SLEEP:", 6) == 0 || strncmp(eq + 1, "SPIN:", 5) == 0) {
      r.spin = eq[1] == 'S' && eq[2] == 'P';
      const char* digits = eq + (r.spin ? 6 : 7);
      char* end = NULL;
      r.slowUs = strtoul(digits, &end, 10);
      if (end == digits || *end != '\0') ok = 0;
      r.rv = CKR_OK;
      if (r.fn < 0) ok = 0;
    } else if (r.fn < 0 || !parseRv(eq + 1, &r.rv)) {
      ok = 0;
    }
    g_rules[g_ruleCount++] = r;
  }
  free(copy);
  return ok;
}

/* One write() per line on a descriptor opened at C_Initialize: cheap enough (a few µs) that
 * logging every call does not change how fast the token looks to the code under test. */
static void logFault(int fn, unsigned long n, CK_RV rv) {
  if (g_logFd < 0) return;
  char line[128];
  int len;
  if (g_logThread)
    len = snprintf(line, sizeof line, "%s #%lu 0x%lx %s\n", kNames[fn], n, (unsigned long)rv,
                   (pid_t)syscall(SYS_gettid) == getpid() ? "main" : "other");
  else
    len = snprintf(line, sizeof line, "%s #%lu 0x%lx\n", kNames[fn], n, (unsigned long)rv);
  if (len > 0 && write(g_logFd, line, (size_t)len) < 0) {
    /* a test reading the log sees the line missing */
  }
}

/* Busy for `us` of this thread's CPU time (not wall time: a preempted spin still costs it all). */
static void spinFor(unsigned long us) {
  struct timespec start, now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  while ((unsigned long)((now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000) < us);
}

/* Counts the call and returns the fault to inject, or CKR_OK to forward it; `lie` (if given) is
 * set when the forwarded call's answer is to be falsified. */
static CK_RV faultOrLie(int fn, int* lie) {
  pthread_mutex_lock(&g_mutex);
  unsigned long n = ++g_calls[fn];
  CK_RV rv = CKR_OK;
  unsigned long slowUs = 0;
  int spin = 0;
  int matched = 0;
  if (lie != NULL) *lie = 0;
  for (int i = 0; i < g_ruleCount; ++i) {
    const struct Rule* r = &g_rules[i];
    if (r->fn != fn) continue;
    if (r->nth == 0 || n == r->nth || (r->andLater && n > r->nth)) {
      rv = r->rv;
      slowUs = r->slowUs;
      spin = r->spin;
      if (lie != NULL) *lie = r->lie;
      matched = 1;
      break;
    }
  }
  pthread_mutex_unlock(&g_mutex);
  if (matched) logFault(fn, n, rv);
  if (slowUs > 0 && spin) spinFor(slowUs);
  else if (slowUs > 0) usleep((useconds_t)slowUs);
  return rv;
}

static CK_RV fault(int fn) { return faultOrLie(fn, NULL); }

/* C_Sign, C_Encrypt and C_Decrypt: input in, output into a buffer. LIE answers one byte more than
 * the room given, or, asked only for the length (no buffer), a length no buffer can hold. */
typedef CK_RV (*FillCall)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
static CK_RV fillBuffer(int fn, FillCall call, CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG inLen, CK_BYTE_PTR out,
                        CK_ULONG_PTR outLen) {
  int lie;
  CK_RV injected = faultOrLie(fn, &lie);
  if (injected != CKR_OK) return injected;
  const CK_ULONG room = outLen != NULL ? *outLen : 0;
  CK_RV rv = call(s, in, inLen, out, outLen);
  if (lie && rv == CKR_OK && outLen != NULL) *outLen = out != NULL ? room + 1 : CK_UNAVAILABLE_INFORMATION;
  return rv;
}

#define FAULT(fn)               \
  do {                          \
    CK_RV injected_ = fault(fn); \
    if (injected_ != CKR_OK) return injected_; \
  } while (0)

static CK_RV w_Initialize(CK_VOID_PTR args) {
  pthread_mutex_lock(&g_mutex);
  int ok = loadPlan();
  pthread_mutex_unlock(&g_mutex);
  if (!ok) return CKR_ARGUMENTS_BAD;
  FAULT(F_Initialize);
  const CK_C_INITIALIZE_ARGS* init = (const CK_C_INITIALIZE_ARGS*)args;
  if (g_requireOsLocking && (init == NULL || !(init->flags & CKF_OS_LOCKING_OK))) return CKR_CANT_LOCK;
  return g_target->C_Initialize(args);
}
static CK_RV w_Finalize(CK_VOID_PTR reserved) {
  FAULT(F_Finalize);
  return g_target->C_Finalize(reserved);
}
static int isHidden(CK_MECHANISM_TYPE m) {
  for (int i = 0; i < g_hiddenCount; ++i)
    if (g_hidden[i] == m) return 1;
  return 0;
}
/* The real list without the hidden mechanisms, with PKCS#11's rules for the caller's buffer. */
static CK_RV w_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  if (g_hiddenCount == 0) return g_target->C_GetMechanismList(slot, list, count);
  if (count == NULL) return CKR_ARGUMENTS_BAD;
  CK_ULONG all = 0;
  CK_RV rv = g_target->C_GetMechanismList(slot, NULL, &all);
  if (rv != CKR_OK) return rv;
  CK_MECHANISM_TYPE* real = calloc(all + 1, sizeof *real);
  if (real == NULL) return CKR_HOST_MEMORY;
  rv = g_target->C_GetMechanismList(slot, real, &all);
  CK_ULONG kept = 0;
  for (CK_ULONG i = 0; rv == CKR_OK && i < all; ++i)
    if (!isHidden(real[i])) real[kept++] = real[i];
  if (rv == CKR_OK && list != NULL) {
    if (*count < kept) rv = CKR_BUFFER_TOO_SMALL;
    else memcpy(list, real, kept * sizeof *real);
  }
  if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) *count = kept;
  free(real);
  return rv;
}
static CK_RV w_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR info) {
  if (isHidden(m)) return CKR_MECHANISM_INVALID;
  return g_target->C_GetMechanismInfo(slot, m, info);
}
static CK_RV w_Login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  FAULT(F_Login);
  return g_target->C_Login(s, u, pin, len);
}
static CK_RV w_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR s) {
  FAULT(F_OpenSession);
  return g_target->C_OpenSession(slot, flags, app, notify, s);
}
static CK_RV w_GetSessionInfo(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info) {
  FAULT(F_GetSessionInfo);
  return g_target->C_GetSessionInfo(s, info);
}
static CK_RV w_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  int locked;
  CK_RV injected = faultOrLie(F_GetTokenInfo, &locked);
  if (injected != CKR_OK) return injected;
  CK_RV rv = g_target->C_GetTokenInfo(slot, info);
  if (locked && rv == CKR_OK && info != NULL) info->flags |= CKF_USER_PIN_LOCKED;
  return rv;
}
static CK_RV w_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  FAULT(F_FindObjectsInit);
  return g_target->C_FindObjectsInit(s, t, n);
}
static CK_RV w_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  FAULT(F_SignInit);
  return g_target->C_SignInit(s, m, k);
}
static CK_RV w_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG_PTR sl) {
  return fillBuffer(F_Sign, g_target->C_Sign, s, d, dl, sig, sl);
}
static CK_RV w_EncryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  FAULT(F_EncryptInit);
  return g_target->C_EncryptInit(s, m, k);
}
static CK_RV w_Encrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  return fillBuffer(F_Encrypt, g_target->C_Encrypt, s, d, dl, o, ol);
}
static CK_RV w_DecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  FAULT(F_DecryptInit);
  return g_target->C_DecryptInit(s, m, k);
}
static CK_RV w_Decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  return fillBuffer(F_Decrypt, g_target->C_Decrypt, s, d, dl, o, ol);
}
static CK_RV w_GenerateKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k) {
  FAULT(F_GenerateKey);
  return g_target->C_GenerateKey(s, m, t, n, k);
}
static CK_RV w_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,
                               CK_ATTRIBUTE_PTR kt, CK_ULONG kn, CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv) {
  FAULT(F_GenerateKeyPair);
  return g_target->C_GenerateKeyPair(s, m, pt, pn, kt, kn, pub, priv);
}
static CK_RV w_DeriveKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR k) {
  FAULT(F_DeriveKey);
  return g_target->C_DeriveKey(s, m, b, t, n, k);
}
static CK_RV w_GenerateRandom(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG n) {
  FAULT(F_GenerateRandom);
  return g_target->C_GenerateRandom(s, out, n);
}
static CK_RV w_DestroyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o) {
  FAULT(F_DestroyObject);
  return g_target->C_DestroyObject(s, o);
}
static CK_RV w_UnwrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k, CK_BYTE_PTR w, CK_ULONG wl, CK_ATTRIBUTE_PTR t,
                         CK_ULONG n, CK_OBJECT_HANDLE_PTR out) {
  FAULT(F_UnwrapKey);
  return g_target->C_UnwrapKey(s, m, k, w, wl, t, n, out);
}
static CK_RV w_SetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  FAULT(F_SetAttributeValue);
  return g_target->C_SetAttributeValue(s, o, t, n);
}
static CK_RV w_WrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR ol) {
  FAULT(F_WrapKey);
  return g_target->C_WrapKey(s, m, wk, k, out, ol);
}
static CK_RV w_CloseSession(CK_SESSION_HANDLE s) {
  FAULT(F_CloseSession);
  return g_target->C_CloseSession(s);
}

static CK_RV w_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  int lie;
  CK_RV injected = faultOrLie(F_GetAttributeValue, &lie);
  if (injected != CKR_OK) return injected;
  CK_RV rv = g_target->C_GetAttributeValue(s, o, t, n);
  if (lie && rv == CKR_OK)
    for (CK_ULONG i = 0; i < n; ++i) t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
  return rv;
}

static CK_RV w_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR found, CK_ULONG max, CK_ULONG_PTR count) {
  int lie;
  CK_RV injected = faultOrLie(F_FindObjects, &lie);
  if (injected != CKR_OK) return injected;
  CK_RV rv = g_target->C_FindObjects(s, found, max, count);
  if (lie && rv == CKR_OK && count != NULL) *count = max + 1;
  return rv;
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == NULL) return CKR_ARGUMENTS_BAD;
  pthread_mutex_lock(&g_mutex);
  CK_RV rv = CKR_OK;
  if (g_target == NULL) {
    const char* path = getenv("EKMS_FAULT_TARGET");
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifndef EKMS_NO_DEEPBIND
    flags |= RTLD_DEEPBIND; /* as our own loader does: the target keeps its own OpenSSL */
#endif
    void* dl = path != NULL ? dlopen(path, flags) : NULL;
    CK_C_GetFunctionList get = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST* target = NULL;
    if (get == NULL || get(&target) != CKR_OK || target == NULL) {
      rv = CKR_GENERAL_ERROR;
    } else {
      g_target = target;
      g_list = *target;
      g_list.C_Initialize = w_Initialize;
      g_list.C_Finalize = w_Finalize;
      g_list.C_GetMechanismList = w_GetMechanismList;
      g_list.C_GetMechanismInfo = w_GetMechanismInfo;
      g_list.C_Login = w_Login;
      g_list.C_OpenSession = w_OpenSession;
      g_list.C_GetSessionInfo = w_GetSessionInfo;
      g_list.C_GetTokenInfo = w_GetTokenInfo;
      g_list.C_FindObjectsInit = w_FindObjectsInit;
      g_list.C_SignInit = w_SignInit;
      g_list.C_Sign = w_Sign;
      g_list.C_EncryptInit = w_EncryptInit;
      g_list.C_Encrypt = w_Encrypt;
      g_list.C_DecryptInit = w_DecryptInit;
      g_list.C_Decrypt = w_Decrypt;
      g_list.C_GenerateKey = w_GenerateKey;
      g_list.C_GenerateKeyPair = w_GenerateKeyPair;
      g_list.C_DeriveKey = w_DeriveKey;
      g_list.C_GenerateRandom = w_GenerateRandom;
      g_list.C_DestroyObject = w_DestroyObject;
      g_list.C_UnwrapKey = w_UnwrapKey;
      g_list.C_SetAttributeValue = w_SetAttributeValue;
      g_list.C_WrapKey = w_WrapKey;
      g_list.C_CloseSession = w_CloseSession;
      g_list.C_GetAttributeValue = w_GetAttributeValue;
      g_list.C_FindObjects = w_FindObjects;
    }
  }
  pthread_mutex_unlock(&g_mutex);
  if (rv == CKR_OK) *out = &g_list;
  return rv;
}
