// Importing key material (binding/import.cpp): the `imports` object of the addon.
#pragma once

#include <napi.h>

namespace binding {

Napi::Object importExports(Napi::Env env);

}  // namespace binding
