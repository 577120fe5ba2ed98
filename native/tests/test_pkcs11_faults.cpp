// Opening errors and faults SoftHSM2 cannot produce by itself, through our fault-injecting
// module (native/fault-module) wrapped around SoftHSM2: locked PIN, removed device, sessions
// that die (retried once, then KeyUnavailable), stale handles; and the module's
// initialise-once, finalise-with-the-last-user lifecycle.
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "check.hpp"
#include "ekms/pkcs11/token_key.hpp"

using namespace ekms;
using namespace ekms::pkcs11;

namespace {

std::string dir;

const char* softhsm() {
  const char* m = getenv("EKMS_TEST_PKCS11_MODULE");
  return m != nullptr ? m : "/usr/lib/softhsm/libsofthsm2.so";
}

void setup() {
  if (!dir.empty()) return;
  char tmpl[] = "/tmp/ekms-p11f-XXXXXX";
  dir = mkdtemp(tmpl);
  std::atexit([] {  // the token folder goes with the test
    int rc = std::system(("rm -rf " + dir).c_str());
    (void)rc;
  });
  std::string conf = dir + "/softhsm2.conf";
  std::ofstream(conf) << "directories.tokendir = " << dir << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  if (system("softhsm2-util --init-token --free --label ekms-faults --pin 1234 --so-pin 5678 >/dev/null") != 0) {
    fprintf(stderr, "cannot create a SoftHSM2 token (is softhsm2 installed?)\n");
    exit(1);
  }
  setenv("EKMS_FAULT_TARGET", softhsm(), 1);
  setenv("EKMS_FAULT_LOG", (dir + "/faults.log").c_str(), 1);
}

// The plan is read when the module is initialised, i.e. when its first user opens it.
std::shared_ptr<Token> open(const std::string& plan, const std::string& pin = "1234", const std::string& label = "ekms-faults",
                            const std::string& module = EKMS_FAULT_MODULE) {
  setup();
  setenv("EKMS_FAULT_PLAN", plan.c_str(), 1);
  unlink((dir + "/faults.log").c_str());
  TokenOptions o;
  o.modulePath = module;
  o.label = label;
  o.pin = SecretBytes(pin.begin(), pin.end());
  o.sessions = 2;
  return Token::open(std::move(o));
}

std::string openError(const std::string& plan, const std::string& pin = "1234", const std::string& label = "ekms-faults",
                      const std::string& module = EKMS_FAULT_MODULE) {
  try {
    open(plan, pin, label, module);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::KeyUnavailable) return std::string("wrong code: ") + e.what();
    return e.what();
  }
  return "no error";
}

std::vector<std::string> faultLog() {
  std::ifstream in(dir + "/faults.log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return true;
  fprintf(stderr, "  '%s' does not contain '%s'\n", s.c_str(), part.c_str());
  return false;
}

KeyIdentity identity(int n, const std::string& spec = "ECC_NIST_P256") {
  char material[65];
  snprintf(material, sizeof material, "%064x", n);
  return {"faults-" + std::to_string(n), spec, material};
}

const AlgorithmInfo& ecdsa() { return algorithm("ECDSA_SHA_256"); }

}  // namespace

TEST(missing_module_names_the_path) {
  std::string e = openError("", "1234", "ekms-faults", "/nonexistent/libnothing.so");
  CHECK(contains(e, "/nonexistent/libnothing.so"));
  CHECK(contains(e, "no such file"));
}

TEST(a_library_that_is_not_pkcs11_is_refused) {
  Dl_info libc{};
  // wherever this system keeps libc (getpid: ASan intercepts printf, and would name the test)
  CHECK(dladdr(reinterpret_cast<void*>(&getpid), &libc) != 0);
  std::string e = openError("", "1234", "ekms-faults", libc.dli_fname);
  CHECK(contains(e, "not a PKCS#11 module"));
}

TEST(unknown_label_lists_the_tokens_present) {
  std::string e = openError("", "1234", "no-such-token");
  CHECK(contains(e, "no token labelled 'no-such-token'"));
  CHECK(contains(e, "'ekms-faults'"));
}

TEST(wrong_pin_is_reported_even_when_the_process_is_logged_in) {
  CHECK(contains(openError("", "9999"), "CKR_PIN_INCORRECT"));
  auto good = open("");
  // PKCS#11 answers CKR_USER_ALREADY_LOGGED_IN here; the module's PIN digest tells it apart.
  CHECK(contains(openError("", "9999"), "CKR_PIN_INCORRECT"));
  auto second = open("");
  CHECK(second->connected());
}

TEST(locked_pin_is_a_clear_error) {
  std::string e = openError("C_Login=CKR_PIN_LOCKED");
  CHECK(contains(e, "locked"));
  CHECK(contains(e, "CKR_PIN_LOCKED"));
  CHECK(faultLog().size() == 1);
}

TEST(a_session_lost_once_is_replaced_and_the_operation_retried) {
  auto token = open("C_SignInit@1=CKR_SESSION_HANDLE_INVALID");
  GeneratedTokenKey g = generateTokenKey(token, identity(1), "SIGN_VERIFY", "faults");
  Bytes sig = g.key->sign(ecdsa(), false, std::string("m"));
  g.key->verify(ecdsa(), false, std::string("m"), sig);
  CHECK(faultLog().size() == 1);
  destroyTokenKey(token, g.tokenRef);
}

TEST(a_session_lost_twice_is_key_unavailable_after_one_retry) {
  auto token = open("C_SignInit=CKR_SESSION_HANDLE_INVALID");
  GeneratedTokenKey g = generateTokenKey(token, identity(2), "SIGN_VERIFY", "faults");
  try {
    g.key->sign(ecdsa(), false, std::string("m"));
    check::fail(__FILE__, __LINE__, "sign succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::KeyUnavailable);
    CHECK(contains(e.what(), "CKR_SESSION_HANDLE_INVALID"));
  }
  CHECK(faultLog().size() == 2);  // the first attempt and exactly one retry
  destroyTokenKey(token, g.tokenRef);
}

TEST(a_removed_device_is_key_unavailable) {
  auto token = open("C_SignInit@2+=CKR_DEVICE_REMOVED,C_OpenSession@2+=CKR_TOKEN_NOT_PRESENT");
  GeneratedTokenKey g = generateTokenKey(token, identity(3), "SIGN_VERIFY", "faults");
  g.key->sign(ecdsa(), false, std::string("works once"));
  CHECK_THROWS_CODE(g.key->sign(ecdsa(), false, std::string("then the device is gone")), ErrorCode::KeyUnavailable);
  CHECK(faultLog().size() >= 2);
  setenv("EKMS_FAULT_PLAN", "", 1);
}

TEST(a_stale_object_handle_is_looked_up_again) {
  auto token = open("C_SignInit@2=CKR_KEY_HANDLE_INVALID");
  GeneratedTokenKey g = generateTokenKey(token, identity(4), "SIGN_VERIFY", "faults");
  g.key->sign(ecdsa(), false, std::string("one"));
  Bytes sig = g.key->sign(ecdsa(), false, std::string("two"));
  g.key->verify(ecdsa(), false, std::string("two"), sig);
  CHECK(faultLog().size() == 1);
  destroyTokenKey(token, g.tokenRef);
}

// Listing a store's objects skips one destroyed meanwhile (tested on SoftHSM2 in test_pkcs11);
// an object that stays is read again, so one failed read passes and a lasting one is reported.
TEST(a_listed_object_that_cannot_be_read_is_read_again_then_reported) {
  {
    auto token = open("C_GetAttributeValue@1=CKR_GENERAL_ERROR");
    GeneratedTokenKey g = generateTokenKey(token, identity(6, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-list");
    std::vector<std::string> refs = listTokenRefs(token, "faults-list");
    CHECK(refs.size() == 1 && refs[0] == g.tokenRef);
    CHECK(faultLog().size() == 1);
    destroyTokenKey(token, g.tokenRef);
  }
  auto token = open("C_GetAttributeValue=CKR_GENERAL_ERROR");
  GeneratedTokenKey g = generateTokenKey(token, identity(7, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-list");
  try {
    listTokenRefs(token, "faults-list");
    check::fail(__FILE__, __LINE__, "the listing succeeded");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "C_GetAttributeValue failed (CKR_GENERAL_ERROR)"));
  }
  CHECK(faultLog().size() > 1);
  destroyTokenKey(token, g.tokenRef);
}

// A module that answers what no module may (more objects than there was room for, an attribute
// of unavailable length with CKR_OK) is an error, never a read past a buffer or a huge
// allocation (found by fuzzing the token layer against a hostile module).
TEST(a_module_that_overstates_its_answer_is_an_error) {
  {
    auto token = open("C_FindObjects=LIE");
    try {
      listTokenRefs(token, "faults-lie");
      check::fail(__FILE__, __LINE__, "the listing succeeded");
    } catch (const Error& e) {
      CHECK(contains(e.what(), "C_FindObjects reported more objects than it was given room for"));
    }
  }
  {
    auto plain = open("");
    GeneratedTokenKey g = generateTokenKey(plain, identity(8, "SYMMETRIC_DEFAULT"), "ENCRYPT_DECRYPT", "faults-lie");
    g.key.reset();  // the last user goes: the next open initialises the module with the new plan
    plain.reset();
    auto token = open("C_GetAttributeValue=LIE");
    try {
      listTokenRefs(token, "faults-lie");
      check::fail(__FILE__, __LINE__, "the listing succeeded");
    } catch (const Error& e) {
      CHECK(contains(e.what(), "attribute length out of range"));
    }
    token.reset();
    destroyTokenKey(open(""), g.tokenRef);
  }
}

TEST(the_module_is_initialised_once_and_finalised_with_its_last_user) {
  auto first = open("");
  // Shared: the second user does not initialise again, so a plan set now is not read.
  auto second = open("C_Login=CKR_PIN_LOCKED");
  CHECK(second->connected());
  first.reset();  // not the last user: no C_Finalize under `second`
  GeneratedTokenKey g = generateTokenKey(second, identity(5), "SIGN_VERIFY", "faults");
  g.key->sign(ecdsa(), false, std::string("still initialised"));
  destroyTokenKey(second, g.tokenRef);
  g.key.reset();
  second.reset();  // the last user: C_Finalize; the next open initialises and reads the plan
  CHECK(contains(openError("C_Login=CKR_PIN_LOCKED"), "CKR_PIN_LOCKED"));
}

TEST(a_malformed_fault_plan_fails_loudly) {
  CHECK(contains(openError("C_Sign@=nonsense"), "C_Initialize failed"));
}

TEST_MAIN
