// The addon's durability surface (backup, restore, root key rotation and escrow): root key
// files are read and written here, in native code, so their bytes never enter JavaScript.
#pragma once

#include <napi.h>

namespace binding {

// { rootKeyCheck, createRootKeyFile, RootRewrapper, escrowRootKey, recoverRootKey, escrowCheckValue }
Napi::Object durabilityExports(Napi::Env env);

}  // namespace binding
