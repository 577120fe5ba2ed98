// Where finished jobs (job_threads.hpp) wait for their environment's JavaScript thread: one inbox
// per environment (the main thread, each worker thread) and pool, through a Node-API thread-safe
// function.
//
// Waking the event loop costs it and the pool's threads more than settling a result does: with
// RSA signatures on SoftHSM2 finishing every 350 µs, a wake per result cost about 20 µs of CPU per
// signature. So while the pool's threads have a backlog of this environment's jobs (several for
// each thread), a finished job may wait here for up to kHold before the loop is woken, and
// the loop then settles every job that finished meanwhile in one go. Without a backlog the loop
// is woken at once: a caller with one or a few calls in flight never waits, and the loop always
// gets its results in time to send more work before a thread runs out: a batch goes as
// soon as it holds a quarter as many jobs as this environment still has at the threads, so the
// loop settles it and sends the next calls while the threads still have three times that work
// (with P-256 on SoftHSM2, about 50 µs a job, larger batches left the threads idle while the
// loop settled them). Under a backlog the calls already wait for a thread, longer than they are
// held here (64 RSA-2048 signatures in flight on SoftHSM2 wait about 20 ms each), and a result
// is held only until the backlog ends. A held result goes when one of this environment's later
// jobs finishes after kHold; if other environments' work or slow calls keep the threads from
// them, the pool's clock hands it on within its period (10 ms).
//
// Results ready before the loop takes them share one wake: the thread-safe function is called
// once, and the loop takes everything ready at the time it runs (Node 20 settles one call of a
// thread-safe function per loop turn, so a call per result made the loop turn once per result).
//
// The thread-safe function keeps the loop alive only while jobs are in flight. When the
// environment is torn down (a worker thread ends, the process ends without process.exit), its
// cleanup hook closes the inbox, takes its jobs that have not started out of the queue, waits for
// those running (as Node waits for libuv work in flight), and destroys them all there, on the
// environment's own thread. With process.exit() there is no teardown: the jobs of the exiting
// thread are left as they are.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <napi.h>

#include "job_threads.hpp"

namespace binding {

class JobInbox {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kHold = std::chrono::milliseconds(2);
  static constexpr std::size_t kBatchShare = 4;  // a batch goes at a quarter of the queue
  // A backlog: this environment still has at least this many jobs per thread at the threads, so
  // one of its own will finish soon and hand the held ones on.
  static constexpr std::size_t kBacklog = 4;

  // The environment's inbox for `pool`, made on its first job there. Main thread only.
  static std::shared_ptr<JobInbox> of(Napi::Env env, Pool pool);

  Pool pool() const { return pool_; }

  // A job of this environment is going to the pool (main thread only); unsent() takes
  // that back when it could not be queued.
  void sent();
  void unsent();

  // From a thread of the pool, a finished job. threads: how many threads it has, or 0 when
  // results must not be held back (no clock). True when the job was held back and this batch is
  // new: the clock must watch the inbox.
  bool deliver(std::unique_ptr<Job> job, std::size_t threads);

  // From the pool's clock: hands on the held jobs if the oldest has waited kHold by now.
  // True while jobs are still held.
  bool flushDue(Clock::time_point now);

  JobInbox() = default;
  JobInbox(const JobInbox&) = delete;
  JobInbox& operator=(const JobInbox&) = delete;

 private:
  using Batch = std::vector<Job*>;

  // Moves the held jobs to ready_; true when the loop must be woken for them (wake() after
  // unlocking: the call is a system call, and the pool's threads and the loop wait for this lock).
  bool flushLocked();
  void wake();
  void teardown();
  static void callJs(napi_env env, napi_value, void* context, void* data);
  static void finalize(napi_env, void* data, void*);

  Pool pool_ = Pool::Software;
  napi_env env_ = nullptr;
  napi_threadsafe_function fn_ = nullptr;
  std::size_t inFlight_ = 0;  // main thread only: sent and not yet settled

  std::mutex mutex_;
  std::condition_variable drained_;
  std::atomic<std::size_t> atThreads_{0};  // sent and not yet delivered (queued or running)
  std::size_t waking_ = 0;                 // wake() calls under way (teardown waits for them)
  bool closed_ = false;        // the environment is being torn down
  Batch held_;                 // owned: held back under a backlog
  Batch ready_;                // owned: for the loop to settle; the loop was woken for them
  bool woken_ = false;         // the thread-safe function was called for ready_, which the loop has not taken yet
  Batch dead_;                 // owned: delivered after closing, for teardown() to destroy
  Clock::time_point heldSince_{};
};

}  // namespace binding
