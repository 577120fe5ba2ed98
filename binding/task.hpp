// One promise-returning unit of work on the libuv thread pool. Execute() runs `work` with only
// owned native values (never a Napi value); the result becomes a JavaScript value on the main
// thread. Native errors reject the promise with their code.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <napi.h>

#include "convert.hpp"
#include "ekms/callers_thread.hpp"

namespace binding {

template <typename Result>
class Task final : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  // runInline: do the work now, on the calling (main) thread, and return a settled promise. Only
  // for work that costs less than the thread hand-off would (see ekms::Key::cheapToRunInline).
  // Work that would have to wait (ekms::WouldBlock: no token session free) runs on the pool.
  static Napi::Promise start(Napi::Env env, Work work, Done done, bool runInline = false) {
    if (runInline) {
      if (auto settled = runNow(env, work, done)) return *settled;
    }
    auto* task = new Task(env, std::move(work), std::move(done));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();
    return promise;
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

  // Settled now, or nullopt (nothing done) when the work would have to wait for something.
  static std::optional<Napi::Promise> runNow(Napi::Env env, const Work& work, const Done& done) {
    ekms::ErrorCode code = ekms::ErrorCode::Internal;
    std::string message;
    std::optional<Result> result;
    try {
      ekms::CallersThread here;
      result.emplace(work());
    } catch (const ekms::WouldBlock&) {
      return std::nullopt;
    } catch (const ekms::Error& e) {
      code = e.code();
      message = e.what();
    } catch (const std::exception& e) {
      message = e.what();
    }
    auto deferred = Napi::Promise::Deferred::New(env);
    if (result) {
      try {
        deferred.Resolve(done(env, *result));
        return deferred.Promise();
      } catch (const std::exception& e) {
        message = e.what();
      }
    }
    deferred.Reject(nativeError(env, code, message).Value());
    return deferred.Promise();
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
