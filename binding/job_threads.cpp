#include "job_threads.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "job_inbox.hpp"

namespace binding {

namespace {

// The CPUs this process may run on (its affinity mask, which containers narrow), as Node's
// os.availableParallelism() counts them.
std::size_t usableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
  return std::max(1U, std::thread::hardware_concurrency());
}

struct Queued {
  std::unique_ptr<Job> job;
  std::shared_ptr<JobInbox> inbox;
};

constexpr std::size_t indexOf(Pool pool) { return static_cast<std::size_t>(pool); }

// One pool's threads, and their clock: a thread that only wakes to hand on results an inbox held
// back (job_inbox.hpp) when none of the pool's threads did so in time.
//
// Never destroyed: a thread may still be inside a token call when the process exits. At exit,
// jobs not started are abandoned and exit waits for the running ones (as libuv does with its own
// pool), so no thread is inside the token module while its static state is torn down.
class JobThreads {
 public:
  // Each pool starts on its first job (a throw leaves it unset, so the next call tries again).
  static JobThreads& instance(Pool pool) {
    if (pool == Pool::Token) {
      static JobThreads* token = start(Pool::Token);
      return *token;
    }
    static JobThreads* software = start(Pool::Software);
    return *software;
  }

  static JobThreads* existing(Pool pool) { return existing_[indexOf(pool)].load(std::memory_order_acquire); }

  // Repeat-safe: registered again after each token module is loaded (stopJobThreadsAtExit).
  void stopAtExit() {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    // Abandoned, not destroyed: destroying a job could release the last reference to a token
    // module and finalize it from an exit handler.
    for (Queued& q : queue_) {
      (void)q.job.release();
      (void)new std::shared_ptr<JobInbox>(std::move(q.inbox));
    }
    queue_.clear();
    idle_.wait(lock, [this] { return running_ == 0; });
  }

  std::vector<std::unique_ptr<Job>> withdraw(const JobInbox& inbox) {
    std::vector<std::unique_ptr<Job>> out;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->inbox.get() != &inbox) {
        ++it;
        continue;
      }
      out.push_back(std::move(it->job));
      it = queue_.erase(it);
    }
    return out;
  }

  void post(Queued q) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(q));
    }
    ready_.notify_one();
  }

 private:
  using Clock = JobInbox::Clock;
  static constexpr Clock::duration kClockPeriod = 5 * JobInbox::kHold;
  static constexpr int kSoftwareNice = 5;

  static JobThreads* start(Pool pool) {
    auto* t = pool == Pool::Token ? new JobThreads(tokenThreadCount(), "ekms-token", 0)
                                  : new JobThreads(softwareThreadCount(), "ekms-software", kSoftwareNice);
    existing_[indexOf(pool)].store(t, std::memory_order_release);
    stopJobThreadsAtExit();
    return t;
  }

  // Fewer threads than asked for when the system refuses more (std::system_error); none at all
  // throws, and the next job tries again. Once one has started, nothing throws: it uses `this`.
  // Without a clock, results are never held back.
  // name: what `top -H`, perf and /proc show for the threads (at most 15 characters).
  JobThreads(std::size_t n, const char* name, int nicer) {
    for (std::size_t i = 0; i < n; ++i) {
      try {
        std::thread([this, name, nicer] {
          pthread_setname_np(pthread_self(), name);
          lowerPriority(nicer);
          work();
        }).detach();
      } catch (const std::system_error&) {
        if (i == 0) throw;
        break;
      }
      threads_ = i + 1;
    }
    try {
      std::thread([this] {
        pthread_setname_np(pthread_self(), "ekms-clock");
        keepTime();
      }).detach();
      clock_ = true;
    } catch (const std::system_error&) {
    }
  }

  // The event loop's thread is the one every call passes through, twice: a software thread that
  // takes a core it is waiting for stalls every call in flight. So software threads yield to it
  // (a nice value higher by kSoftwareNice than the process's): with 64 P-256 signatures in
  // flight on 2 CPUs, 61-64k/s against 48-50k/s at the same nice value, for the same CPU per
  // signature. Token threads keep the process's: made nicer, SoftHSM2's P-256 at 64 in flight
  // did not change (19-20k/s or 28k/s in both, from run to run), and a network HSM's mostly wait.
  // Only under contention does it matter: a core no one else wants runs them at full speed.
  static void lowerPriority(int nicer) {
    if (nicer == 0) return;
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, tid);
    if (errno == 0) (void)setpriority(PRIO_PROCESS, tid, std::min(nice + nicer, 19));  // refused: it stays as it is
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      // After exit began, never again: the thread waits here until the process is gone. Letting
      // it end would run its thread-local destructors (OpenSSL's among them) while exit tears
      // the same libraries down.
      ready_.wait(lock, [this] { return !stopping_ && !queue_.empty(); });
      Queued q = takeLocked();
      lock.unlock();
      // While jobs keep coming, one lock per job: the one that ends a job takes the next.
      while (q.job) {
        q.job->run();
        lock.lock();
        if (--running_ == 0 && stopping_) idle_.notify_all();
        Queued next = !stopping_ && !queue_.empty() ? takeLocked() : Queued{};
        lock.unlock();
        if (q.inbox->deliver(std::move(q.job), clock_ ? threads_ : 0)) watch(std::move(q.inbox));
        q = std::move(next);
      }
      lock.lock();
    }
  }

  Queued takeLocked() {
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    return q;
  }

  // An inbox began holding results back. Under a backlog the pool's threads hand them on
  // themselves (the next one to finish a job, within one job's time); the clock is only there for
  // when every thread is stuck in a slow call, so it looks every kClockPeriod, not at each
  // batch's deadline: waking it per batch (or every half hold) cost 6-7 µs of CPU per
  // RSA signature, a third of what the batching saves. It is woken only when it had nothing to
  // watch.
  void watch(std::shared_ptr<JobInbox> inbox) {
    std::lock_guard<std::mutex> lock(clockMutex_);
    if (watchLocked(std::move(inbox)) && watched_.size() == 1) tick_.notify_one();
  }

  // Adds the inbox unless it is watched already; true when added.
  bool watchLocked(std::shared_ptr<JobInbox> inbox) {
    for (const auto& w : watched_)
      if (w == inbox) return false;
    watched_.push_back(std::move(inbox));
    return true;
  }

  void keepTime() {
    std::unique_lock<std::mutex> lock(clockMutex_);
    for (;;) {
      tick_.wait(lock, [this] { return !watched_.empty(); });
      lock.unlock();
      std::this_thread::sleep_for(kClockPeriod);
      lock.lock();
      std::vector<std::shared_ptr<JobInbox>> watched;
      watched.swap(watched_);
      lock.unlock();
      std::vector<std::shared_ptr<JobInbox>> still;
      for (auto& inbox : watched)
        if (inbox->flushDue(Clock::now())) still.push_back(std::move(inbox));
      lock.lock();
      for (auto& inbox : still) watchLocked(std::move(inbox));
    }
  }

  std::size_t threads_ = 0;  // set before any job can arrive
  bool clock_ = false;       // likewise
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable idle_;
  std::deque<Queued> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;

  static inline std::atomic<JobThreads*> existing_[2] = {};  // by indexOf(pool)

  std::mutex clockMutex_;
  std::condition_variable tick_;
  std::vector<std::shared_ptr<JobInbox>> watched_;
};

}  // namespace

EnvNumber tokenThreadSetting() { return readEnvNumber("EKMS_PKCS11_THREADS", std::max<std::size_t>(2, usableCpus()), 1, 1024); }

std::size_t tokenThreadCount() {
  // Read once: the threads and every token's sessions must agree.
  static const std::size_t count = tokenThreadSetting().used;
  return count;
}

std::size_t softwareThreadCount() { return std::max<std::size_t>(2, usableCpus()); }

void stopJobThreadsAtExit() {
  std::atexit([] {
    for (Pool pool : {Pool::Token, Pool::Software})
      if (JobThreads* t = JobThreads::existing(pool)) t->stopAtExit();
  });
}

void submitJob(Napi::Env env, Pool pool, std::unique_ptr<Job> job) {
  JobThreads* threads = nullptr;
  try {
    threads = &JobThreads::instance(pool);
  } catch (const std::system_error& e) {
    throw nativeError(env, ekms::ErrorCode::Internal, std::string("cannot start the worker threads: ") + e.what());
  }
  std::shared_ptr<JobInbox> inbox = JobInbox::of(env, pool);
  JobInbox& counted = *inbox;
  // Counted before the post: a thread may deliver the job before post() returns.
  counted.sent();
  try {
    threads->post({std::move(job), std::move(inbox)});
  } catch (...) {
    counted.unsent();
    throw;
  }
}

std::vector<std::unique_ptr<Job>> withdrawJobs(const JobInbox& inbox) {
  return JobThreads::instance(inbox.pool()).withdraw(inbox);
}

}  // namespace binding
