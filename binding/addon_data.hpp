// Per-environment state (one per Node main thread or worker thread), never statics: each
// environment has its own constructors.
#pragma once

#include <napi.h>

namespace binding {

struct AddonData {
  Napi::FunctionReference keyHandle;
  bool constructingHandle = false;
};

}  // namespace binding
