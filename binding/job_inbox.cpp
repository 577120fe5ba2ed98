#include "job_inbox.hpp"

#include "addon_data.hpp"

namespace binding {

namespace {

void destroyAll(std::vector<Job*>& jobs) {
  for (Job* job : jobs) delete job;
  jobs.clear();
}

}  // namespace

std::shared_ptr<JobInbox> JobInbox::of(Napi::Env env, Pool pool) {
  auto* data = env.GetInstanceData<AddonData>();
  std::shared_ptr<JobInbox>& slot = pool == Pool::Token ? data->tokenInbox : data->softwareInbox;
  if (slot) return slot;
  auto inbox = std::make_shared<JobInbox>();
  inbox->pool_ = pool;
  inbox->env_ = env;
  // The finalizer holds its own reference: Node may finalize after AddonData is gone.
  auto* finalizerRef = new std::shared_ptr<JobInbox>(inbox);
  napi_value name = Napi::String::New(env, pool == Pool::Token ? "ekms:token" : "ekms:software");
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, finalizerRef, &JobInbox::finalize,
                                                       inbox.get(), &JobInbox::callJs, &inbox->fn_);
  if (status != napi_ok) {
    delete finalizerRef;
    NAPI_THROW_IF_FAILED(env, status, nullptr);
  }
  napi_unref_threadsafe_function(env, inbox->fn_);  // idle: it does not keep the loop alive
  // Registered after the thread-safe function's own hook, so it runs first (hooks run in reverse).
  auto* hookRef = new std::shared_ptr<JobInbox>(inbox);
  status = napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        std::unique_ptr<std::shared_ptr<JobInbox>> ref(static_cast<std::shared_ptr<JobInbox>*>(arg));
        (*ref)->teardown();
      },
      hookRef);
  if (status != napi_ok) {
    delete hookRef;
    NAPI_THROW_IF_FAILED(env, status, nullptr);
  }
  slot = inbox;
  return inbox;
}

void JobInbox::sent() {
  if (inFlight_++ == 0) napi_ref_threadsafe_function(env_, fn_);
  // Only this thread sends, and teardown runs on it too: no lock needed to count up.
  atThreads_.fetch_add(1, std::memory_order_relaxed);
}

void JobInbox::unsent() {
  atThreads_.fetch_sub(1, std::memory_order_relaxed);
  if (--inFlight_ == 0) napi_unref_threadsafe_function(env_, fn_);
}

bool JobInbox::deliver(std::unique_ptr<Job> job, std::size_t threads) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t left = atThreads_.fetch_sub(1, std::memory_order_relaxed) - 1;
    const std::size_t backlog = threads > 0 && left >= kBacklog * threads ? left : 0;
    if (closed_) {
      dead_.push_back(job.release());
      drained_.notify_all();
      return false;
    }
    const Clock::time_point now = Clock::now();
    first = held_.empty();
    if (first) heldSince_ = now;
    held_.push_back(job.release());
    if (held_.size() * kBatchShare < backlog && now - heldSince_ < kHold) return first;  // else the clock hands them on
    if (!flushLocked()) return false;
  }
  wake();
  return false;
}

bool JobInbox::flushDue(Clock::time_point now) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || held_.empty()) return false;
    if (now - heldSince_ < kHold) return true;
    if (!flushLocked()) return false;
  }
  wake();
  return false;
}

bool JobInbox::flushLocked() {
  ready_.insert(ready_.end(), held_.begin(), held_.end());
  held_.clear();
  if (woken_) return false;  // the loop has yet to take ready_: it takes these too
  woken_ = true;
  ++waking_;
  return true;
}

void JobInbox::wake() {
  const bool called = napi_call_threadsafe_function(fn_, nullptr, napi_tsfn_nonblocking) == napi_ok;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!called) {
    // Closing already (teardown is about to run, or runs): teardown destroys them.
    woken_ = false;
    dead_.insert(dead_.end(), ready_.begin(), ready_.end());
    ready_.clear();
  }
  --waking_;
  drained_.notify_all();
}

void JobInbox::teardown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  std::vector<std::unique_ptr<Job>> withdrawn = withdrawJobs(*this);
  Batch left;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    atThreads_.fetch_sub(withdrawn.size(), std::memory_order_relaxed);
    drained_.wait(lock, [this] { return atThreads_.load(std::memory_order_relaxed) == 0 && waking_ == 0; });
    left.swap(held_);
    left.insert(left.end(), ready_.begin(), ready_.end());
    left.insert(left.end(), dead_.begin(), dead_.end());
    ready_.clear();
    dead_.clear();
  }
  withdrawn.clear();
  destroyAll(left);
}

void JobInbox::callJs(napi_env env, napi_value, void* context, void*) {
  // With env null, Node is tearing the environment down: teardown() destroys what is left.
  if (env == nullptr) return;
  auto* inbox = static_cast<JobInbox*>(context);
  Batch batch;
  {
    std::lock_guard<std::mutex> lock(inbox->mutex_);
    batch.swap(inbox->ready_);
    inbox->woken_ = false;
  }
  for (Job* raw : batch) {
    std::unique_ptr<Job> job(raw);
    if (--inbox->inFlight_ == 0) napi_unref_threadsafe_function(env, inbox->fn_);
    // Nothing may escape into Node (std::terminate), nor stop the rest of the batch.
    try {
      Napi::HandleScope scope(env);
      job->settle(Napi::Env(env));
    } catch (...) {
    }
  }
}

void JobInbox::finalize(napi_env, void* data, void*) {
  std::unique_ptr<std::shared_ptr<JobInbox>> ref(static_cast<std::shared_ptr<JobInbox>*>(data));
  JobInbox& inbox = **ref;
  std::unique_lock<std::mutex> lock(inbox.mutex_);
  inbox.closed_ = true;
  // No wake() may still be calling the thread-safe function, which Node frees after this returns.
  inbox.drained_.wait(lock, [&inbox] { return inbox.waking_ == 0; });
}

}  // namespace binding
