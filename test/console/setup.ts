// A key store served with the console, for the console's tests.
import type { Test } from 'tap';

import { startServer, type ServerHandle, type ServerOptions } from '../../src/endpoint/index.js';
import type { Kms } from '../../src/index.js';
import { software, type Backend } from '../helpers/backends.js';

export interface Served {
  kms: Kms;
  server: ServerHandle;
  url: string;
}

export async function serve(t: Test, options: ServerOptions = {}, backend: Backend = software): Promise<Served> {
  const kms = await backend.open();
  const server = await startServer(kms, { port: 0, ...options });
  t.teardown(async () => {
    await server.close({ graceMs: 1000 });
    await kms.close();
  });
  return { kms, server, url: server.url };
}
