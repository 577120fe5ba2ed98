/*
 * A hostile PKCS#11 module for fuzz_token: it keeps no token and no objects, and answers every
 * call from the script of the current input (fake_pkcs11.h). What the token layer must survive
 * is exactly what a module may answer: any return value, any handle, any attribute bytes, and,
 * in lax mode, any length or count, whatever room it was given. The fake itself never writes
 * past the room it was given: a report against it is always the caller's.
 *
 * Single-threaded like the harness. Functions the token layer does not call are left NULL.
 */
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "fake_pkcs11.h"

#define EXPORT __attribute__((visibility("default")))

static struct {
  int lax;
  const uint8_t* p;
  size_t left;
  const struct FakeValue* values;
  size_t valueCount;
  CK_ULONG findCalls; /* C_FindObjects since the last C_FindObjectsInit */
  CK_OBJECT_HANDLE lastHandle;
} g;

EXPORT void ekms_fake_begin(int lax, const uint8_t* script, size_t size, const struct FakeValue* values, size_t count) {
  memset(&g, 0, sizeof g);
  g.lax = lax;
  g.p = script;
  g.left = size;
  g.values = values;
  g.valueCount = count;
}

/* The next script byte; past its end, zeros (the well-behaved answer). */
static uint8_t byte(void) {
  if (g.left == 0) return 0;
  --g.left;
  return *g.p++;
}

/* The failures the token layer tells apart (lost sessions, stale handles, refused mechanisms,
 * PIN states, buffer sizes) and some it does not; below 0x80, CKR_OK. */
static const CK_RV kFailures[] = {
    CKR_GENERAL_ERROR,       CKR_FUNCTION_FAILED,          CKR_DEVICE_ERROR,         CKR_DEVICE_REMOVED,
    CKR_TOKEN_NOT_PRESENT,   CKR_SESSION_HANDLE_INVALID,   CKR_SESSION_CLOSED,       CKR_BUFFER_TOO_SMALL,
    CKR_KEY_HANDLE_INVALID,  CKR_OBJECT_HANDLE_INVALID,    CKR_OPERATION_ACTIVE,     CKR_ATTRIBUTE_SENSITIVE,
    CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID, CKR_MECHANISM_INVALID,  CKR_MECHANISM_PARAM_INVALID,
    CKR_ARGUMENTS_BAD,       CKR_KEY_SIZE_RANGE,           CKR_RANDOM_NO_RNG,        CKR_FUNCTION_NOT_SUPPORTED,
    CKR_USER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,    CKR_PIN_INCORRECT,        CKR_PIN_LOCKED,
    CKR_PIN_EXPIRED,         CKR_PIN_LEN_RANGE,            CKR_USER_PIN_NOT_INITIALIZED, CKR_CRYPTOKI_ALREADY_INITIALIZED,
    CKR_SLOT_ID_INVALID,     CKR_ENCRYPTED_DATA_INVALID,   CKR_WRAPPED_KEY_INVALID,  CKR_TEMPLATE_INCONSISTENT,
    CKR_VENDOR_DEFINED | 1,
};

static CK_RV result(void) {
  uint8_t b = byte();
  return b < 0x80 ? CKR_OK : kFailures[(b - 0x80) % (sizeof kFailures / sizeof kFailures[0])];
}

/* A handle: 0 a fresh one, 255 CK_INVALID_HANDLE, else that number (perhaps one in use). */
static CK_OBJECT_HANDLE handle(void) {
  uint8_t b = byte();
  if (b == 0) return ++g.lastHandle + 1000;
  return b == 255 ? CK_INVALID_HANDLE : b;
}

/* A value to answer: bytes (data NULL: a pattern of len bytes), or a failure for the attribute. */
struct Value {
  const uint8_t* data;
  CK_ULONG len;
  CK_RV status;
};

static struct Value canned(unsigned long type, size_t n) {
  struct Value v = {NULL, 0, CKR_OK};
  size_t count = 0;
  for (size_t i = 0; i < g.valueCount; ++i) count += g.values[i].type == type;
  if (count == 0 && type != FAKE_ANY) return canned(FAKE_ANY, n);
  if (count == 0) return v;
  n %= count;
  for (size_t i = 0; i < g.valueCount; ++i)
    if (g.values[i].type == type && n-- == 0) {
      v.data = g.values[i].data;
      v.len = g.values[i].len;
    }
  return v;
}

/* One script byte s says what: s % 4 == 0, the canned value s / 4 of this type; 1, bytes of
 * the script (a length byte, 255: two more); 2, a canned value of any type (the next byte);
 * 3, by s / 4 % 4: empty, sensitive, no such attribute, or a pattern of 4 KiB << s / 16. */
static struct Value value(unsigned long type) {
  uint8_t s = byte();
  struct Value v = {NULL, 0, CKR_OK};
  switch (s % 4) {
    case 0:
      return canned(type, s / 4);
    case 1: {
      size_t n = byte();
      if (n == 255) {
        n = (size_t)byte() << 8;
        n |= byte();
      }
      if (n > g.left) n = g.left;
      v.data = g.p;
      v.len = n;
      g.p += n;
      g.left -= n;
      return v;
    }
    case 2:
      if (g.valueCount > 0) {
        const struct FakeValue* any = &g.values[byte() % g.valueCount];
        v.data = any->data;
        v.len = any->len;
      }
      return v;
    default:
      switch (s / 4 % 4) {
        case 1: v.status = CKR_ATTRIBUTE_SENSITIVE; break;
        case 2: v.status = CKR_ATTRIBUTE_TYPE_INVALID; break;
        case 3: v.len = (CK_ULONG)4096 << (s / 16); break;
        default: break;
      }
      return v;
  }
}

/* Copies what fits of v into room bytes at out. */
static void put(uint8_t* out, CK_ULONG room, struct Value v) {
  CK_ULONG n = v.len < room ? v.len : room;
  if (v.data != NULL) memcpy(out, v.data, n);
  else memset(out, 0xa5, n);
}

/* The length or count to report for an answer of `truth` given `room` (0 when only asked for
 * the length). Strict, PKCS#11 §5.2: the truth, and CKR_BUFFER_TOO_SMALL (with *out = tooSmall)
 * when a buffer was given and the answer does not fit. Lax: a script byte may instead make it
 * CKR_OK with a length no module may report: more than the room, CK_UNAVAILABLE_INFORMATION,
 * sizes no buffer holds, zero. */
static CK_RV report(int hasBuffer, CK_ULONG truth, CK_ULONG room, CK_ULONG* out, CK_ULONG tooSmall) {
  if (g.lax) {
    const CK_ULONG lies[] = {0, room + 1, room + 4096, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION - 1,
                             (CK_ULONG)1 << 32, 0, truth + 1};
    uint8_t lie = byte() % 8;
    if (lie != 0) {
      *out = lies[lie];
      return CKR_OK;
    }
  }
  if (hasBuffer && truth > room) {
    *out = tooSmall;
    return CKR_BUFFER_TOO_SMALL;
  }
  *out = truth;
  return CKR_OK;
}

/* A list length: 0 the default, else b - 1 entries. */
static CK_ULONG listLength(CK_ULONG byDefault, int* scripted) {
  uint8_t b = byte();
  *scripted = b != 0;
  return b == 0 ? byDefault : (CK_ULONG)b - 1;
}

/* ----------------------------------------------------------------- general, slots, sessions */

static CK_RV f_Initialize(CK_VOID_PTR args) {
  (void)args;
  return result();
}

static CK_RV f_Finalize(CK_VOID_PTR reserved) {
  (void)reserved;
  return CKR_OK;
}

static CK_RV f_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  (void)present;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  int scripted;
  CK_ULONG n = listLength(1, &scripted);
  CK_ULONG room = list != NULL ? *count : 0;
  for (CK_ULONG i = 0; list != NULL && i < n && i < room; ++i) list[i] = i;
  return report(list != NULL, n, room, count, n);
}

/* Token info by a script byte: 0 the token wanted; 1 another label; 2 not initialised; 3 PIN
 * locked; 4 the label NUL-padded; else 32 label bytes of the script. */
static CK_RV f_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  (void)slot;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  memset(info, ' ', sizeof *info);
  info->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG;
  uint8_t b = byte();
  memcpy(info->label, b == 1 ? "other" : FAKE_TOKEN_LABEL, b == 1 ? 5 : strlen(FAKE_TOKEN_LABEL));
  if (b == 2) info->flags &= ~(CK_FLAGS)CKF_TOKEN_INITIALIZED;
  if (b == 3) info->flags |= CKF_USER_PIN_LOCKED;
  if (b == 4) memset(info->label + strlen(FAKE_TOKEN_LABEL), 0, sizeof info->label - strlen(FAKE_TOKEN_LABEL));
  for (size_t i = 0; b > 4 && i < sizeof info->label; ++i) info->label[i] = byte();
  memcpy(info->manufacturerID, "ekms fuzz", 9);
  memcpy(info->model, "fake", 4);
  memcpy(info->serialNumber, "0", 1);
  return CKR_OK;
}

/* Every mechanism the token layer asks for, and one it does not know. */
static const CK_MECHANISM_TYPE kMechanisms[] = {
    CKM_AES_KEY_GEN, CKM_GENERIC_SECRET_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
    CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKM_ECDSA, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512,
    CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_RSA_X_509, CKM_RSA_PKCS_OAEP,
    CKM_AES_GCM, CKM_AES_ECB, CKM_SHA224_HMAC, CKM_SHA256_HMAC, CKM_SHA384_HMAC, CKM_SHA512_HMAC,
    CKM_ECDH1_DERIVE, CKM_RSA_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, 0x210bUL /* CKM_AES_KEY_WRAP_KWP */,
    CKM_VENDOR_DEFINED | 7,
};
#define MECHANISM_COUNT (sizeof kMechanisms / sizeof kMechanisms[0])

/* The default: all of them but the last (so CKM_RSA_AES_KEY_WRAP); scripted: each a byte. */
static CK_RV f_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  (void)slot;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  int scripted;
  CK_ULONG n = listLength(MECHANISM_COUNT - 1, &scripted);
  CK_ULONG room = list != NULL ? *count : 0;
  for (CK_ULONG i = 0; list != NULL && i < n && i < room; ++i)
    list[i] = kMechanisms[scripted ? byte() % MECHANISM_COUNT : i];
  return report(list != NULL, n, room, count, n);
}

// A mechanism's key sizes: the smallest scripted among SoftHSM2's (32, in bytes), the same in
// bits, and one that says nothing either way.
static CK_RV f_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
  (void)slot;
  (void)type;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  static const CK_ULONG kMinimums[] = {32, 256, 1};
  uint8_t b = byte();
  memset(info, 0, sizeof *info);
  info->ulMinKeySize = kMinimums[b < 2 ? b : 2];
  info->ulMaxKeySize = 512;
  info->flags = CKF_SIGN | CKF_VERIFY;
  return CKR_OK;
}

static CK_RV f_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session) {
  (void)slot, (void)flags, (void)app, (void)notify;
  CK_RV rv = result();
  if (rv == CKR_OK) *session = handle();
  return rv;
}

static CK_RV f_CloseSession(CK_SESSION_HANDLE session) {
  (void)session;
  return result();
}

/* State by a script byte: 0 logged in (R/W user), 1 R/W public, 2 R/O user, else SO. */
static CK_RV f_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info) {
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  static const CK_STATE kStates[] = {CKS_RW_USER_FUNCTIONS, CKS_RW_PUBLIC_SESSION, CKS_RO_USER_FUNCTIONS, CKS_RW_SO_FUNCTIONS};
  uint8_t b = byte();
  memset(info, 0, sizeof *info);
  info->slotID = 0;
  info->state = kStates[b < 3 ? b : 3];
  info->flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
  (void)session;
  return CKR_OK;
}

static CK_RV f_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  (void)session, (void)user, (void)pin, (void)len;
  return result();
}

/* ----------------------------------------------------------------- objects */

static CK_RV f_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count) {
  (void)session, (void)tmpl, (void)count;
  g.findCalls = 0;
  return result();
}

/* By default one object (a fresh handle) on the first call of a search, none after; scripted:
 * b - 1 handles. Strict: at most max, the rest (never) later; lax: any count. */
static CK_RV f_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE_PTR found, CK_ULONG max, CK_ULONG_PTR count) {
  (void)session;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  int scripted;
  CK_ULONG n = listLength(g.findCalls++ == 0 ? 1 : 0, &scripted);
  if (n > max) n = max;
  for (CK_ULONG i = 0; i < n; ++i) found[i] = handle();
  return report(1, n, max, count, n);
}

static CK_RV f_FindObjectsFinal(CK_SESSION_HANDLE session) {
  (void)session;
  return result();
}

/* Each attribute answered by value(); the call's result is the first failure among them. */
static CK_RV f_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count) {
  (void)session, (void)object;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  for (CK_ULONG i = 0; i < count; ++i) {
    struct Value v = value(tmpl[i].type);
    CK_RV one = v.status;
    if (one != CKR_OK) {
      tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
    } else {
      CK_ULONG room = tmpl[i].pValue != NULL ? tmpl[i].ulValueLen : 0;
      if (tmpl[i].pValue != NULL) put(tmpl[i].pValue, room, v);
      one = report(tmpl[i].pValue != NULL, v.len, room, &tmpl[i].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    }
    if (rv == CKR_OK) rv = one;
  }
  return rv;
}

static CK_RV f_SetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count) {
  (void)session, (void)object, (void)tmpl, (void)count;
  return result();
}

static CK_RV f_DestroyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object) {
  (void)session, (void)object;
  return result();
}

/* ----------------------------------------------------------------- keys */

static CK_RV f_GenerateKey(CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                           CK_OBJECT_HANDLE_PTR key) {
  (void)session, (void)m, (void)tmpl, (void)count;
  CK_RV rv = result();
  if (rv == CKR_OK) *key = handle();
  return rv;
}

static CK_RV f_GenerateKeyPair(CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pubTmpl, CK_ULONG pubCount,
                               CK_ATTRIBUTE_PTR privTmpl, CK_ULONG privCount, CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv) {
  (void)session, (void)m, (void)pubTmpl, (void)pubCount, (void)privTmpl, (void)privCount;
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  *pub = handle();
  *priv = handle();
  return CKR_OK;
}

static CK_RV f_DeriveKey(CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl,
                         CK_ULONG count, CK_OBJECT_HANDLE_PTR key) {
  (void)session, (void)m, (void)base, (void)tmpl, (void)count;
  CK_RV rv = result();
  if (rv == CKR_OK) *key = handle();
  return rv;
}

static CK_RV f_UnwrapKey(CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE unwrapping, CK_BYTE_PTR wrapped,
                         CK_ULONG wrappedLen, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR key) {
  (void)session, (void)m, (void)unwrapping, (void)wrapped, (void)wrappedLen, (void)tmpl, (void)count;
  CK_RV rv = result();
  if (rv == CKR_OK) *key = handle();
  return rv;
}

/* ----------------------------------------------------------------- operations with output */

/* C_Sign, C_Encrypt, C_Decrypt, C_WrapKey: an answer of the pseudo type into (out, *outLen). */
static CK_RV output(unsigned long type, CK_BYTE_PTR out, CK_ULONG_PTR outLen) {
  CK_RV rv = result();
  if (rv != CKR_OK) return rv;
  struct Value v = value(type);
  if (v.status != CKR_OK) return v.status;
  CK_ULONG room = out != NULL ? *outLen : 0;
  if (out != NULL) put(out, room, v);
  return report(out != NULL, v.len, room, outLen, v.len);
}

static CK_RV f_Init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key) {
  (void)session, (void)m, (void)key;
  return result();
}

static CK_RV f_Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sigLen) {
  (void)session, (void)data, (void)len;
  return output(FAKE_SIGN_OUTPUT, sig, sigLen);
}

static CK_RV f_Encrypt(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR outLen) {
  (void)session, (void)data, (void)len;
  return output(FAKE_ENCRYPT_OUTPUT, out, outLen);
}

static CK_RV f_Decrypt(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR outLen) {
  (void)session, (void)data, (void)len;
  return output(FAKE_DECRYPT_OUTPUT, out, outLen);
}

static CK_RV f_WrapKey(CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE key,
                       CK_BYTE_PTR out, CK_ULONG_PTR outLen) {
  (void)session, (void)m, (void)wrapping, (void)key;
  return output(FAKE_WRAP_OUTPUT, out, outLen);
}

static CK_RV f_GenerateRandom(CK_SESSION_HANDLE session, CK_BYTE_PTR out, CK_ULONG len) {
  (void)session;
  CK_RV rv = result();
  if (rv == CKR_OK) memset(out, 0x5a, len);
  return rv;
}

static CK_FUNCTION_LIST g_list = {
    .version = {2, 40},
    .C_Initialize = f_Initialize,
    .C_Finalize = f_Finalize,
    .C_GetSlotList = f_GetSlotList,
    .C_GetTokenInfo = f_GetTokenInfo,
    .C_GetMechanismList = f_GetMechanismList,
    .C_GetMechanismInfo = f_GetMechanismInfo,
    .C_OpenSession = f_OpenSession,
    .C_CloseSession = f_CloseSession,
    .C_GetSessionInfo = f_GetSessionInfo,
    .C_Login = f_Login,
    .C_FindObjectsInit = f_FindObjectsInit,
    .C_FindObjects = f_FindObjects,
    .C_FindObjectsFinal = f_FindObjectsFinal,
    .C_GetAttributeValue = f_GetAttributeValue,
    .C_SetAttributeValue = f_SetAttributeValue,
    .C_DestroyObject = f_DestroyObject,
    .C_GenerateKey = f_GenerateKey,
    .C_GenerateKeyPair = f_GenerateKeyPair,
    .C_DeriveKey = f_DeriveKey,
    .C_UnwrapKey = f_UnwrapKey,
    .C_WrapKey = f_WrapKey,
    .C_SignInit = f_Init,
    .C_Sign = f_Sign,
    .C_EncryptInit = f_Init,
    .C_Encrypt = f_Encrypt,
    .C_DecryptInit = f_Init,
    .C_Decrypt = f_Decrypt,
    .C_GenerateRandom = f_GenerateRandom,
};

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == NULL) return CKR_ARGUMENTS_BAD;
  *out = &g_list;
  return CKR_OK;
}
