// Loaded with `--import` (through NODE_OPTIONS, so by every Node process of a test run: tap, its
// test processes, the CLIs they spawn) when the tests run under another Node.js major
// (scripts/test-node-versions.mjs): better-sqlite3 is a native module built for one Node ABI, and
// the repository's node_modules holds the build for the Node that installed it. The resolve hook
// sends `better-sqlite3` to the copy built for this Node. Our own addon is Node-API: one build
// serves every Node.
import { register } from 'node:module';

if (process.env.EKMS_BETTER_SQLITE3_DIR) register('./resolve-hook.mjs', import.meta.url);
