// OpenSSL's ordinary allocations, wiped when freed. OpenSSL copies private keys through plain
// heap buffers on their way into the secure heap (decoding a PKCS#8 key re-encodes it and runs
// its decoder over the copy; encoding a new key for wrapping does the reverse) and frees them
// unwiped: a P-256 private key loaded once stayed readable in freed memory, after close() too,
// where a core dump or swap could take it. Every allocation of our (statically linked) OpenSSL
// is therefore wiped to its full usable size before it goes back to the C library.
#pragma once

namespace ekms {

// Installs the wiping functions; must run before our OpenSSL allocates anything (OpenSSL
// accepts memory functions only then). Returns whether they are in place (the first call's
// answer, for every call).
bool wipeOpensslFrees();

}  // namespace ekms
