#!/usr/bin/env node
// The `ekms` command (package.json "bin"): see src/cli/main.ts.
import { main } from '../dist/cli/main.js';
import { addon } from '../dist/native/addon.js';

// This process is the command's own, not a host that loads the library: no core file (its heap
// holds plaintexts, and the PKCS#11 PIN for re-login) and no ptrace by the user's other processes.
if (process.env.EKMS_ALLOW_CORE_DUMPS !== '1') addon.forbidCoreDumps();

process.exitCode = await main(process.argv.slice(2));
