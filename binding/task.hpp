// One promise-returning unit of work on the libuv thread pool. Execute() runs `work` with only
// owned native values (never a Napi value); the result becomes a JavaScript value on the main
// thread. Native errors reject the promise with their code.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <napi.h>

#include "convert.hpp"
#include "ekms/callers_thread.hpp"
#include "job_threads.hpp"

namespace binding {

template <typename Result>
class Task final : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  // runInline: do the work now, on the calling (main) thread, and return a settled promise. Only
  // for work that costs less than the thread hand-off would (see ekms::Key::cheapToRunInline).
  // Work that would have to wait (ekms::WouldBlock: no token session free) runs on the pool.
  // pool: a key's work goes to our own threads (binding/job_threads.hpp); other work (none
  // given) to libuv's pool.
  static Napi::Promise start(Napi::Env env, Work work, Done done, bool runInline = false, std::optional<Pool> pool = std::nullopt) {
    return start(env, std::move(work), done, std::move(done), runInline, pool);
  }

  // As above, with the value of work done inline made by doneHere, at once on the calling thread
  // (it may use the call's arguments), and that of work on a pool by done, later. Both may be the
  // same function: `done` is taken by reference and moved only when the work is queued, after
  // doneHere had no use.
  static Napi::Promise start(Napi::Env env, Work work, const Done& doneHere, Done&& done, bool runInline, std::optional<Pool> pool) {
    if (runInline) {
      Here here = runHere(work);
      if (!here.wouldBlock) {
        auto deferred = Napi::Promise::Deferred::New(env);
        try {
          deferred.Resolve(settle(env, here, doneHere));
        } catch (const Napi::Error& e) {
          deferred.Reject(e.Value());
        }
        return deferred.Promise();
      }
    }
    return queue(env, std::move(work), std::move(done), pool);
  }

  // As start(), but work done inline returns its value itself, or throws its error, where
  // start() would return a settled promise: the caller skips a promise and the persistent
  // handle behind it (about 0.4 µs of a 25 µs P-256 signature). Work on the pool still returns
  // a promise, so JavaScript gets `value | Promise<value>`.
  static Napi::Value startOrValue(Napi::Env env, Work work, Done done, bool runInline, std::optional<Pool> pool = std::nullopt) {
    return startOrValue(env, std::move(work), done, std::move(done), runInline, pool);
  }

  // As above, with the value of work done inline made by doneHere, which runs at once on the
  // calling thread (it may use the call's arguments, as Napi values or their memory), and that of
  // work on a pool made by done, later (as start()'s, the two may be one).
  static Napi::Value startOrValue(Napi::Env env, Work work, const Done& doneHere, Done&& done, bool runInline, std::optional<Pool> pool) {
    if (runInline) {
      Here here = runHere(work);
      if (!here.wouldBlock) return settle(env, here, doneHere);
    }
    return queue(env, std::move(work), std::move(done), pool);
  }

 protected:
  void Execute() override {
    try {
      result_ = work_();
    } catch (const ekms::Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = ekms::ErrorCode::Internal;
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(done_(env, result_));
    } catch (const Napi::Error& e) {
      settleQuietly([&] { deferred_.Reject(e.Value()); });
    }
  }

  void OnError(const Napi::Error& e) override {
    settleQuietly([&] { deferred_.Reject(nativeError(Env(), code_, e.Message()).Value()); });
  }

  // The outcome of work run on the calling thread or one of ours: its result, or its error, or
  // (on the calling thread) nothing done because it would have to wait for something (then it
  // goes to a pool).
  struct Here {
    std::optional<Result> result;
    bool wouldBlock = false;
    ekms::ErrorCode code = ekms::ErrorCode::Internal;
    std::string message;
  };

  // Runs the work into `here`; ekms::WouldBlock (not an exception type) passes through.
  static void capture(const Work& work, Here& here) {
    try {
      here.result.emplace(work());
    } catch (const ekms::Error& e) {
      here.code = e.code();
      here.message = e.what();
    } catch (const std::exception& e) {
      here.message = e.what();
    }
  }

  static Here runHere(const Work& work) {
    Here here;
    try {
      ekms::CallersThread thread;
      capture(work, here);
    } catch (const ekms::WouldBlock&) {
      here.wouldBlock = true;
    }
    return here;
  }

  // The JavaScript value of work done here; throws (as a JavaScript error) what it failed with.
  static Napi::Value settle(Napi::Env env, Here& here, const Done& done) {
    if (here.result) {
      try {
        return done(env, *here.result);
      } catch (const std::exception& e) {
        here.message = e.what();
      }
    }
    throw nativeError(env, here.code, here.message);
  }

  static Napi::Promise queue(Napi::Env env, Work work, Done done, std::optional<Pool> pool) {
    if (pool) {
      auto job = std::make_unique<OnThread>(env, std::move(work), std::move(done));
      Napi::Promise promise = job->deferred.Promise();
      submitJob(env, *pool, std::move(job));
      return promise;
    }
    auto* task = new Task(env, std::move(work), std::move(done));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();
    return promise;
  }

  // A worker thread terminated while this task ran: its environment is being torn down and no
  // JavaScript can run, so settling the promise fails. An exception escaping here would
  // std::terminate the whole process; there is nobody left to tell, so it is dropped.
  template <typename F>
  static void settleQuietly(F&& settle) {
    try {
      settle();
    } catch (const Napi::Error&) {
    }
  }

 private:
  // The same work as a job on one of our pools, settled as Execute/OnOK/OnError would.
  struct OnThread final : Job {
    OnThread(Napi::Env env, Work w, Done d) : deferred(Napi::Promise::Deferred::New(env)), work(std::move(w)), done(std::move(d)) {}
    void run() override { capture(work, here); }
    void settle(Napi::Env env) override {
      try {
        deferred.Resolve(Task::settle(env, here, done));
      } catch (const Napi::Error& e) {
        settleQuietly([&] { deferred.Reject(e.Value()); });
      }
    }
    Napi::Promise::Deferred deferred;
    Work work;
    Done done;
    Here here;
  };

  Task(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env, "ekms"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Result result_{};
  ekms::ErrorCode code_ = ekms::ErrorCode::Internal;
};

}  // namespace binding
