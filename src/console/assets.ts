// The console's static files, embedded by scripts/console-assets.mjs (assets.generated.ts), as
// ready-to-send buffers with their content types.
import type { WireResponse } from '../endpoint/wire.js';
import { consoleAssets } from './assets.generated.js';
import { fileResponse, PAGE_CSP } from './responses.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const extension = (name: string): string => name.slice(name.lastIndexOf('.'));

const files = new Map<string, { body: Buffer; type: string }>();
for (const [name, text] of Object.entries(consoleAssets)) {
  const type = TYPES[extension(name)];
  if (type) files.set(name, { body: Buffer.from(text, 'utf8'), type });
}

/** The page itself (index.html), with its content security policy. */
export function pageResponse(): WireResponse {
  const page = files.get('index.html')!;
  return fileResponse(page.body, page.type, { 'content-security-policy': PAGE_CSP });
}

/**
 * A static file by name (`app.js`), or undefined. The page is one too (`/console/index.html`):
 * served that way, it has the same content security policy as at `/`.
 */
export function assetResponse(name: string): WireResponse | undefined {
  const file = Object.hasOwn(consoleAssets, name) ? files.get(name) : undefined;
  if (!file) return undefined;
  return fileResponse(file.body, file.type, file.type.startsWith('text/html') ? { 'content-security-policy': PAGE_CSP } : {});
}
