/*
 * The yardstick for token Sign throughput: the PKCS#11 calls embedded-kms makes for one Sign,
 * in a plain C loop, on the same token (bench/ compares our Sign against it as a ratio).
 *
 * Per signature, like TokenKey::sign: SHA-256 of the message in software (OpenSSL), then
 * C_SignInit + C_Sign with CKM_ECDSA (ecdsa-p256) or with CKM_RSA_PKCS over DigestInfo||hash
 * (rsa-2048). One session per thread, logged in once; the key object is found once.
 *
 * Usage:
 *   pkcs11_sign_loop --module PATH --token LABEL (--pin PIN | --pin-file FILE)
 *                    --algorithm ecdsa-p256|rsa-2048
 *                    [--key-id CKA_ID] [--seconds 5] [--threads 1] [--message-bytes 32]
 *
 * --key-id names an existing private key by its CKA_ID text (embedded-kms's tokenRef,
 * "<keyId>/<materialId>"); without it a session key pair is generated (and gone at exit).
 * Prints one JSON line: {"algorithm":…,"threads":…,"seconds":…,"operations":…,"opsPerSecond":…,
 * "cpuUsPerOp":…}. cpuUsPerOp is the process's CPU time (every thread, user + system) over the
 * timed loops divided by the operations: on a shared machine it moves less than opsPerSecond.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST* p11;
static CK_SLOT_ID slot;
static CK_OBJECT_HANDLE key;
static int isRsa;
static double seconds = 5;
static size_t messageBytes = 32;

static void die(const char* what, CK_RV rv) {
  fprintf(stderr, "pkcs11_sign_loop: %s failed (0x%lx)\n", what, (unsigned long)rv);
  exit(1);
}
#define CK(call, what)               \
  do {                               \
    CK_RV rv_ = (call);              \
    if (rv_ != CKR_OK) die(what, rv_); \
  } while (0)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const unsigned char kSha256DigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

struct Worker {
  pthread_t thread;
  unsigned long ops;
  double elapsed; /* of the timed loop only: warm-up and session set-up are not counted */
};

/* Every worker has done its warm-up before any starts timing, so the CPU time measured between
 * the two barriers is that of the timed loops alone. */
static pthread_barrier_t ready, finished;

static double cpuSeconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void signOnce(CK_SESSION_HANDLE s, const unsigned char* message) {
  unsigned char input[sizeof kSha256DigestInfo + 32];
  size_t offset = isRsa ? sizeof kSha256DigestInfo : 0;
  if (isRsa) memcpy(input, kSha256DigestInfo, offset);
  unsigned int len = 0;
  EVP_Digest(message, messageBytes, input + offset, &len, EVP_sha256(), NULL);
  CK_MECHANISM m = {isRsa ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0};
  unsigned char sig[512];
  CK_ULONG sigLen = sizeof sig;
  CK(p11->C_SignInit(s, &m, key), "C_SignInit");
  CK(p11->C_Sign(s, input, (CK_ULONG)(offset + len), sig, &sigLen), "C_Sign");
}

static void* run(void* arg) {
  struct Worker* w = arg;
  CK_SESSION_HANDLE s;
  CK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), "C_OpenSession");
  unsigned char* message = calloc(messageBytes ? messageBytes : 1, 1);
  for (int i = 0; i < 100; ++i) signOnce(s, message); /* warm-up */
  pthread_barrier_wait(&ready);
  double start = now(), end = start + seconds, t = start;
  while (t < end) {
    for (int i = 0; i < 16; ++i) signOnce(s, message);
    w->ops += 16;
    t = now();
  }
  w->elapsed = t - start;
  pthread_barrier_wait(&finished);
  free(message);
  p11->C_CloseSession(s);
  return NULL;
}

static CK_SLOT_ID findSlot(const char* label) {
  CK_SLOT_ID slots[64];
  CK_ULONG n = 64;
  CK(p11->C_GetSlotList(CK_TRUE, slots, &n), "C_GetSlotList");
  for (CK_ULONG i = 0; i < n; ++i) {
    CK_TOKEN_INFO ti;
    if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK) continue;
    char text[33];
    memcpy(text, ti.label, 32);
    text[32] = '\0';
    for (int j = 31; j >= 0 && text[j] == ' '; --j) text[j] = '\0';
    if (strcmp(text, label) == 0) return slots[i];
  }
  fprintf(stderr, "pkcs11_sign_loop: no token labelled '%s'\n", label);
  exit(1);
}

static CK_OBJECT_HANDLE findKey(CK_SESSION_HANDLE s, const char* id) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, (void*)id, strlen(id)}};
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  CK_ULONG n = 0;
  CK(p11->C_FindObjectsInit(s, t, 2), "C_FindObjectsInit");
  CK(p11->C_FindObjects(s, &h, 1, &n), "C_FindObjects");
  p11->C_FindObjectsFinal(s);
  if (n == 0) {
    fprintf(stderr, "pkcs11_sign_loop: no private key with CKA_ID '%s'\n", id);
    exit(1);
  }
  return h;
}

static CK_OBJECT_HANDLE generateKey(CK_SESSION_HANDLE s) {
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_OBJECT_HANDLE pub, priv;
  if (isRsa) {
    CK_ULONG bits = 2048;
    unsigned char e[] = {1, 0, 1};
    CK_ATTRIBUTE pt[] = {{CKA_TOKEN, &no, 1}, {CKA_MODULUS_BITS, &bits, sizeof bits}, {CKA_PUBLIC_EXPONENT, e, 3}};
    CK_ATTRIBUTE kt[] = {{CKA_TOKEN, &no, 1}, {CKA_PRIVATE, &yes, 1}, {CKA_SENSITIVE, &yes, 1}, {CKA_SIGN, &yes, 1}};
    CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK(p11->C_GenerateKeyPair(s, &m, pt, 3, kt, 4, &pub, &priv), "C_GenerateKeyPair");
  } else {
    unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ATTRIBUTE pt[] = {{CKA_TOKEN, &no, 1}, {CKA_EC_PARAMS, p256, sizeof p256}};
    CK_ATTRIBUTE kt[] = {{CKA_TOKEN, &no, 1}, {CKA_PRIVATE, &yes, 1}, {CKA_SENSITIVE, &yes, 1}, {CKA_SIGN, &yes, 1}};
    CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK(p11->C_GenerateKeyPair(s, &m, pt, 2, kt, 4, &pub, &priv), "C_GenerateKeyPair");
  }
  return priv;
}

static void usage(void) {
  fprintf(stderr,
          "usage: pkcs11_sign_loop --module PATH --token LABEL (--pin PIN | --pin-file FILE)\n"
          "                        --algorithm ecdsa-p256|rsa-2048 [--key-id CKA_ID] [--seconds 5]\n"
          "                        [--threads 1] [--message-bytes 32]\n");
  exit(2);
}

int main(int argc, char** argv) {
  const char *module = NULL, *label = NULL, *pinArg = NULL, *pinFile = NULL, *alg = NULL, *keyId = NULL;
  int threads = 1;
  for (int i = 1; i < argc; i += 2) { /* --flag value pairs */
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) usage();
    if (strcmp(argv[i], "--module") == 0) module = v;
    else if (strcmp(argv[i], "--token") == 0) label = v;
    else if (strcmp(argv[i], "--pin") == 0) pinArg = v;
    else if (strcmp(argv[i], "--pin-file") == 0) pinFile = v;
    else if (strcmp(argv[i], "--algorithm") == 0) alg = v;
    else if (strcmp(argv[i], "--key-id") == 0) keyId = v;
    else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(v);
    else if (strcmp(argv[i], "--threads") == 0) threads = atoi(v);
    else if (strcmp(argv[i], "--message-bytes") == 0) messageBytes = (size_t)atol(v);
    else usage();
  }
  if (module == NULL || label == NULL || alg == NULL || (pinArg == NULL) == (pinFile == NULL) || threads < 1) usage();
  if (strcmp(alg, "rsa-2048") == 0) isRsa = 1;
  else if (strcmp(alg, "ecdsa-p256") != 0) usage();

  char pin[256] = {0};
  if (pinFile != NULL) {
    FILE* f = fopen(pinFile, "r");
    if (f == NULL || fgets(pin, sizeof pin, f) == NULL) {
      fprintf(stderr, "pkcs11_sign_loop: cannot read %s\n", pinFile);
      return 1;
    }
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
  } else {
    snprintf(pin, sizeof pin, "%s", pinArg);
  }

  int flags = RTLD_NOW | RTLD_LOCAL;
#ifndef EKMS_NO_DEEPBIND
  flags |= RTLD_DEEPBIND; /* the module keeps its own OpenSSL, as in embedded-kms */
#endif
  void* dl = dlopen(module, flags);
  CK_C_GetFunctionList get = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
  if (get == NULL || get(&p11) != CKR_OK) {
    fprintf(stderr, "pkcs11_sign_loop: cannot load %s\n", module);
    return 1;
  }
  CK_C_INITIALIZE_ARGS init = {0};
  init.flags = CKF_OS_LOCKING_OK;
  CK(p11->C_Initialize(&init), "C_Initialize");
  slot = findSlot(label);
  CK_SESSION_HANDLE s;
  CK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), "C_OpenSession");
  CK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)), "C_Login");
  memset(pin, 0, sizeof pin);
  key = keyId != NULL ? findKey(s, keyId) : generateKey(s);

  struct Worker* workers = calloc((size_t)threads, sizeof *workers);
  pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&finished, NULL, (unsigned)threads + 1);
  for (int i = 0; i < threads; ++i) pthread_create(&workers[i].thread, NULL, run, &workers[i]);
  pthread_barrier_wait(&ready);
  double cpu0 = cpuSeconds();
  pthread_barrier_wait(&finished);
  double cpu = cpuSeconds() - cpu0;
  unsigned long total = 0;
  double elapsed = 0;
  for (int i = 0; i < threads; ++i) {
    pthread_join(workers[i].thread, NULL);
    total += workers[i].ops;
    if (workers[i].elapsed > elapsed) elapsed = workers[i].elapsed;
  }
  printf("{\"algorithm\":\"%s\",\"threads\":%d,\"seconds\":%.3f,\"operations\":%lu,\"opsPerSecond\":%.1f,"
         "\"cpuUsPerOp\":%.2f}\n",
         alg, threads, elapsed, total, (double)total / elapsed, cpu * 1e6 / (double)total);
  free(workers);
  p11->C_CloseSession(s);
  p11->C_Finalize(NULL);
  return 0;
}
