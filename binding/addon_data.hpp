// Per-environment state (one per Node main thread or worker thread), never statics: each
// environment has its own constructors.
#pragma once

#include <memory>

#include <napi.h>

namespace binding {

class JobInbox;

struct AddonData {
  Napi::FunctionReference keyHandle;
  bool constructingHandle = false;
  // Made on the first job of each pool (job_inbox.cpp).
  std::shared_ptr<JobInbox> tokenInbox;
  std::shared_ptr<JobInbox> softwareInbox;
};

}  // namespace binding
