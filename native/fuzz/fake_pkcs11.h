/*
 * fuzz_token's input, and the interface of its fake PKCS#11 module (fake_pkcs11.c), which the
 * harness loads as Token::open would load any module and drives through ekms_fake_begin.
 *
 * Input: [mode][8 plan bytes][script...]
 *   mode bit 0: 0 strict (the fake keeps PKCS#11's buffer rules: any finding is a bug of ours),
 *               1 lax (it also lies about lengths and counts: the token layer must turn that
 *               into an ekms::Error); bit 1: the token's session pool holds 2 sessions, not 1.
 *   plan:       one step a byte, run in order by the harness: low nibble a FuzzTokenOp, high
 *               nibble its parameter (a key kind of the harness's table, an operation ...).
 *   script:     the fake's answers, read in call order. Every call takes a return value byte
 *               (below 0x80: CKR_OK) and, when it succeeds, what it answers (a handle, a length
 *               or count, attribute bytes ...). A byte of 0 is always the answer of a
 *               well-behaved token with one object, and a script that ends reads as zeros: so
 *               every call terminates, and a short script already reaches deep.
 * Missing plan bytes are zeros too.
 */
#ifndef EKMS_FUZZ_FAKE_PKCS11_H
#define EKMS_FUZZ_FAKE_PKCS11_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_TOKEN_LABEL "fuzz"
#define FAKE_PLAN_STEPS 8

/* The harness's steps (low nibble of a plan byte). */
enum FuzzTokenOp {
  OP_GENERATE = 0,      /* generateTokenKey of key kind p */
  OP_LOAD_WITH_DER,     /* loadTokenKey of key kind p, its public key given */
  OP_LOAD_FROM_TOKEN,   /* loadTokenKey of key kind p, its public key read from the token */
  OP_USE,               /* the current key: sign, verify, encrypt, decrypt, mac, derive (p) */
  OP_LIST,              /* listTokenRefs */
  OP_ATTRIBUTES,        /* readTokenKeyAttributes of the current key */
  OP_DESTROY,           /* destroyTokenKey of the current key */
  OP_RANDOM,            /* tokenRandom of 5·p bytes */
  OP_WRAPPING_KEY,      /* generateTokenWrappingKey: algorithm p % 4, wrapping key spec p / 4 */
  OP_UNWRAP,            /* unwrapIntoToken of key kind p, with the last wrapping key's algorithm */
  OP_COMMIT,            /* commitImportedObject of the last unwrap */
  OP_RECONNECT,         /* disconnect, connect, info() */
  OP_COUNT              /* higher nibbles are OP_USE again */
};

/* Canned answers the harness hands the fake: valid EC points, moduli, ids, labels ... that
 * random bytes would hardly ever be. An attribute read answers the entries of its type (the
 * first one for a script byte of 0); FAKE_ANY entries answer types with none of their own. */
#define FAKE_ANY ((unsigned long)-1)
/* Pseudo attribute types for what C_Sign, C_Encrypt, C_Decrypt and C_WrapKey return. */
#define FAKE_SIGN_OUTPUT 0xfa4e0001UL
#define FAKE_ENCRYPT_OUTPUT 0xfa4e0002UL
#define FAKE_DECRYPT_OUTPUT 0xfa4e0003UL
#define FAKE_WRAP_OUTPUT 0xfa4e0004UL

struct FakeValue {
  unsigned long type;
  const uint8_t* data;
  size_t len;
};

/* Starts an iteration: the script (kept by the caller until the next call) and the canned
 * values (kept for good). Exported by the fake module; the harness finds it with dlsym. */
typedef void (*FakeBeginFn)(int lax, const uint8_t* script, size_t size, const struct FakeValue* values, size_t count);
#define FAKE_BEGIN_SYMBOL "ekms_fake_begin"

#endif
