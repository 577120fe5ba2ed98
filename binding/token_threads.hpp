// Threads of our own for work that waits on a PKCS#11 token, instead of libuv's thread pool.
//
// Why not libuv's pool: it has 4 threads by default, and the file system, DNS, zlib and Node's
// own crypto share them. A network HSM answers in milliseconds, and a token call holds its thread
// all that time, so a few slow signatures would stall every fs call of the process behind them
// (our audit trail's writes among them). And libuv hands every result back through one global
// queue and lock that its worker threads and the event loop contend for, and wakes the loop once
// per result; here results go through each environment's thread-safe function, and one wake
// settles every result that is ready (binding/token_inbox.cpp).
//
// The threads are shared by the whole process (every Node environment, every token) and started
// on first use. Each token has a session for each of them (binding/token.cpp), so a thread never
// waits for a session.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <napi.h>

namespace binding {

// One unit of work: run() on a token thread, then settle() on its environment's JavaScript
// thread. It is always destroyed on that thread, also when its environment is torn down before it
// settles (token_inbox.hpp): destroying it may drop the last reference to a key, its token and
// the token's module, and finalizing a module must not race with the process's exit.
class TokenJob {
 public:
  virtual ~TokenJob() = default;
  virtual void run() = 0;
  virtual void settle(Napi::Env env) = 0;
};

// How many token threads: EKMS_PKCS11_THREADS if set, else the CPUs this process may use (at
// least 2). A token that computes in the process (SoftHSM2) is CPU-bound, and more threads than
// CPUs only contend for its locks: on 2 CPUs, 4 threads signed P-256 about 10% slower than 2. An
// HSM across a network waits instead, and wants as many threads as calls it should have at once:
// that is what EKMS_PKCS11_THREADS is for.
std::size_t tokenThreadCount();

// Makes exit wait for the token calls running at that moment (jobs not started are abandoned).
// Called once the threads start, and again after each token module is loaded: exit runs the
// handlers in reverse order, so this one runs before that module's own exit-time teardown.
void stopTokenThreadsAtExit();

// Runs job->run() on a token thread and job->settle() back on env's thread. Main thread only.
void submitTokenJob(Napi::Env env, std::unique_ptr<TokenJob> job);

class TokenInbox;
// The jobs of `inbox` still waiting for a token thread, taken out of the queue (its environment
// is being torn down).
std::vector<std::unique_ptr<TokenJob>> withdrawTokenJobs(const TokenInbox& inbox);

}  // namespace binding
