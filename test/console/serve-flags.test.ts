// `ekms serve` serves the console by default and says where; `--no-console` serves the API only.
import t from 'tap';

import { main } from '../../src/cli/main.js';
import { raw } from '../endpoint/http.js';
import { software } from '../helpers/backends.js';

/** Runs `ekms serve …`, fetches the page while it serves, then stops it. */
async function servePage(args: string[]): Promise<{ code: number; stdout: string; status: number }> {
  let stdout = '';
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((r) => (stop = r));
  let status = 0;
  const code = await main(['serve', '--port', '0', ...args], {
    env: {},
    stdout: (s) => {
      stdout += s;
      const m = /on (http:\/\/\S+) \(auth/.exec(s);
      if (m) {
        const url = m[1]!;
        void raw(url, { method: 'GET', headers: { host: new URL(url).host, accept: 'text/html' } }).then((r) => {
          status = r.status;
          stop('SIGTERM');
        });
      }
    },
    stderr: () => undefined,
    waitForStop: () => stopped,
    openKms: (options) => software.open(options),
  });
  return { code, stdout, status };
}

t.test('the console is served by default', async (tt) => {
  const r = await servePage([]);
  tt.equal(r.code, 0);
  tt.equal(r.status, 200, 'GET / with Accept: text/html is the page');
  tt.match(r.stdout, /^ekms: key console at http:\/\/127\.0\.0\.1:\d+\/$/m);
});

t.test('--no-console', async (tt) => {
  const r = await servePage(['--no-console']);
  tt.equal(r.code, 0);
  tt.equal(r.status, 400, 'the endpoint answers GET / with an AWS error');
  tt.notMatch(r.stdout, /key console/);
  let err = '';
  const bad = await main(['serve', '--no-console', 'yes'], { env: {}, stdout: () => undefined, stderr: (s) => void (err += s) });
  tt.equal(bad, 252, 'a usage error');
  tt.match(err, /--no-console: expected no argument/);
});
