// Threads of our own for the work of key handles, instead of libuv's thread pool: one set for
// calls that wait on a PKCS#11 token, one for the cryptography of software keys.
//
// Why not libuv's pool: it has 4 threads by default, and the file system, DNS, zlib and Node's
// own crypto share them. A network HSM answers in milliseconds, and a token call holds its thread
// all that time, so a few slow signatures would stall every fs call of the process behind them
// (our audit trail's writes among them); 64 software RSA-4096 signatures would do the same. And
// libuv hands every result back through one global queue and lock that its worker threads and the
// event loop contend for, and wakes the loop once per result; here results go through each
// environment's thread-safe function, and one wake settles every result that is ready
// (binding/job_inbox.cpp). With 64 software P-256 signatures in flight on 2 CPUs, that cost
// 28 µs of CPU per signature against 33-36 µs on libuv's pool (and RSA-2048: 283 against 290).
//
// Each set has its own threads, queue and clock: a slow token never holds up a software key's
// work, nor the reverse. The sets are shared by the whole process (every Node environment, every
// token) and started on first use. Each token has a session for each token thread
// (binding/token.cpp), so a token thread never waits for a session. Work that is not a key's
// (opening a token, generating keys, importing, root key rotation) stays on libuv's pool.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <napi.h>

#include "env_number.hpp"

namespace binding {

enum class Pool { Token = 0, Software = 1 };

// One unit of work: run() on a thread of its pool, then settle() on its environment's JavaScript
// thread. It is always destroyed on that thread, also when its environment is torn down before it
// settles (job_inbox.hpp): destroying it may drop the last reference to a key, its token and
// the token's module, and finalizing a module must not race with the process's exit.
class Job {
 public:
  virtual ~Job() = default;
  virtual void run() = 0;
  virtual void settle(Napi::Env env) = 0;
};

// How many token threads: EKMS_PKCS11_THREADS if set, else the CPUs this process may use (at
// least 2). A token that computes in the process (SoftHSM2) is CPU-bound, and more threads than
// CPUs only contend for its locks: on 2 CPUs, 4 threads signed P-256 about 10% slower than 2. An
// HSM across a network waits instead, and wants as many threads as calls it should have at once:
// that is what EKMS_PKCS11_THREADS is for.
std::size_t tokenThreadCount();
// What EKMS_PKCS11_THREADS says now (tokenThreadCount() keeps its first reading).
EnvNumber tokenThreadSetting();

// How many software threads: the CPUs this process may use (at least 2). Their work never waits,
// so more threads than CPUs would only take turns on them.
std::size_t softwareThreadCount();

// Makes exit wait for the jobs running at that moment in either set (jobs not started are
// abandoned). Called once a set starts, and again after each token module is loaded: exit runs
// the handlers in reverse order, so this one runs before that module's own exit-time teardown.
void stopJobThreadsAtExit();

// Runs job->run() on a thread of `pool` and job->settle() back on env's thread. Main thread only.
void submitJob(Napi::Env env, Pool pool, std::unique_ptr<Job> job);

class JobInbox;
// The jobs of `inbox` still waiting for a thread, taken out of its pool's queue (its environment
// is being torn down).
std::vector<std::unique_ptr<Job>> withdrawJobs(const JobInbox& inbox);

}  // namespace binding
