#!/usr/bin/env node
// The `ekms` command (package.json "bin"): see src/cli/main.ts.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
