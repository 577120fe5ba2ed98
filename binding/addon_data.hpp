// Per-environment state (one per Node main thread or worker thread), never statics: each
// environment has its own constructors.
#pragma once

#include <memory>

#include <napi.h>

namespace binding {

class TokenInbox;

struct AddonData {
  Napi::FunctionReference keyHandle;
  bool constructingHandle = false;
  std::shared_ptr<TokenInbox> tokenInbox;  // made on the first token job (token_inbox.cpp)
};

}  // namespace binding
