#include "token_inbox.hpp"

#include "addon_data.hpp"

namespace binding {

namespace {

void destroyAll(std::vector<TokenJob*>& jobs) {
  for (TokenJob* job : jobs) delete job;
  jobs.clear();
}

}  // namespace

std::shared_ptr<TokenInbox> TokenInbox::of(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data->tokenInbox) return data->tokenInbox;
  auto inbox = std::make_shared<TokenInbox>();
  inbox->env_ = env;
  // The finalizer holds its own reference: Node may finalize after AddonData is gone.
  auto* finalizerRef = new std::shared_ptr<TokenInbox>(inbox);
  napi_value name = Napi::String::New(env, "ekms:token");
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, finalizerRef, &TokenInbox::finalize,
                                                       inbox.get(), &TokenInbox::callJs, &inbox->fn_);
  if (status != napi_ok) {
    delete finalizerRef;
    NAPI_THROW_IF_FAILED(env, status, nullptr);
  }
  napi_unref_threadsafe_function(env, inbox->fn_);  // idle: it does not keep the loop alive
  // Registered after the thread-safe function's own hook, so it runs first (hooks run in reverse).
  auto* hookRef = new std::shared_ptr<TokenInbox>(inbox);
  status = napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        std::unique_ptr<std::shared_ptr<TokenInbox>> ref(static_cast<std::shared_ptr<TokenInbox>*>(arg));
        (*ref)->teardown();
      },
      hookRef);
  if (status != napi_ok) {
    delete hookRef;
    NAPI_THROW_IF_FAILED(env, status, nullptr);
  }
  data->tokenInbox = inbox;
  return inbox;
}

void TokenInbox::sent() {
  if (inFlight_++ == 0) napi_ref_threadsafe_function(env_, fn_);
  std::lock_guard<std::mutex> lock(mutex_);
  ++atThreads_;
}

bool TokenInbox::deliver(std::unique_ptr<TokenJob> job, bool backlog) {
  std::lock_guard<std::mutex> lock(mutex_);
  --atThreads_;
  if (closed_) {
    dead_.push_back(job.release());
    if (atThreads_ == 0) drained_.notify_all();
    return false;
  }
  const Clock::time_point now = Clock::now();
  const bool first = held_.empty();
  if (first) heldSince_ = now;
  held_.push_back(job.release());
  if (backlog && now - heldSince_ < kHold) return first;  // the clock hands them on if no thread does
  flushLocked();
  return false;
}

bool TokenInbox::flushDue(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || held_.empty()) return false;
  if (now - heldSince_ >= kHold) {
    flushLocked();
    return false;
  }
  return true;
}

void TokenInbox::flushLocked() {
  auto batch = std::make_unique<Batch>();
  batch->swap(held_);
  if (napi_call_threadsafe_function(fn_, batch.get(), napi_tsfn_nonblocking) == napi_ok) {
    (void)batch.release();
    return;
  }
  // Closing already (teardown is about to run): teardown destroys them.
  dead_.insert(dead_.end(), batch->begin(), batch->end());
}

void TokenInbox::teardown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  std::vector<std::unique_ptr<TokenJob>> withdrawn = withdrawTokenJobs(*this);
  Batch left;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    atThreads_ -= withdrawn.size();
    drained_.wait(lock, [this] { return atThreads_ == 0; });
    left.swap(held_);
    left.insert(left.end(), dead_.begin(), dead_.end());
    dead_.clear();
  }
  withdrawn.clear();
  destroyAll(left);
}

void TokenInbox::callJs(napi_env env, napi_value, void* context, void* data) {
  std::unique_ptr<Batch> batch(static_cast<Batch*>(data));
  auto* inbox = static_cast<TokenInbox*>(context);
  for (TokenJob* raw : *batch) {
    std::unique_ptr<TokenJob> job(raw);
    if (env == nullptr) continue;  // torn down with the batch still queued: destroyed here
    if (--inbox->inFlight_ == 0) napi_unref_threadsafe_function(env, inbox->fn_);
    Napi::HandleScope scope(env);
    job->settle(Napi::Env(env));
  }
}

void TokenInbox::finalize(napi_env, void* data, void*) {
  std::unique_ptr<std::shared_ptr<TokenInbox>> ref(static_cast<std::shared_ptr<TokenInbox>*>(data));
  std::lock_guard<std::mutex> lock((*ref)->mutex_);
  (*ref)->closed_ = true;
}

}  // namespace binding
