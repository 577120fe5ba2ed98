// Work that a caller runs on its own thread (the JavaScript event loop's) must never wait: for a
// token session in use elsewhere, a reconnect, a lost session's retry. While a CallersThread
// scope is open on a thread, such code throws WouldBlock instead, before it has done anything,
// and the caller runs the whole operation again on a worker thread (binding/task.hpp).
#pragma once

namespace ekms {

// Not an ekms::Error, nor a std::exception: it never reaches a caller as a failure.
struct WouldBlock {};

class CallersThread {
 public:
  CallersThread() { active_ = true; }
  ~CallersThread() { active_ = false; }
  CallersThread(const CallersThread&) = delete;
  CallersThread& operator=(const CallersThread&) = delete;

  static bool active() { return active_; }

 private:
  static inline thread_local bool active_ = false;
};

}  // namespace ekms
