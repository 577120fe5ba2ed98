// The console's entry point: opens (or signs in to) a session, loads what the forms offer, and
// shows the page the address names: #/keys, #/keys/<key id>, #/create.
import * as api from './api.js';
import { AwsError } from './api.js';
import { clear, errorText, flash, h, takeCarriedFlash } from './dom.js';
import { renderKeyDetail } from './key-detail.js';
import { renderKeyList } from './keys-list.js';
import { renderSignIn } from './sign-in.js';
import { renderWizard } from './wizard.js';

const main = document.getElementById('main');
const nav = document.getElementById('main-nav');
const who = document.getElementById('who');
const signOutButton = document.getElementById('sign-out');
let ctx;

function routeOf(hash) {
  const path = hash.replace(/^#/, '') || '/keys';
  const detail = /^\/keys\/([^/]+)$/.exec(path);
  if (detail) return { page: 'detail', keyId: decodeURIComponent(detail[1]) };
  if (path === '/create') return { page: 'create' };
  return { page: 'list' };
}

async function show() {
  if (!ctx) return;
  const route = routeOf(location.hash);
  flash(takeCarriedFlash());
  clear(main);
  if (route.page === 'detail') await renderKeyDetail(main, ctx, route.keyId);
  else if (route.page === 'create') await renderWizard(main, ctx);
  else await renderKeyList(main, ctx);
  // A new page: move focus to its heading, as a page load would, so keyboard and screen reader
  // users start at the top of what changed.
  main.querySelector('h1')?.focus();
}

function signedIn(context) {
  ctx = context;
  nav.hidden = false;
  who.textContent = ctx.AccessKeyId ? `${ctx.AccessKeyId} · ${ctx.Region} · ${ctx.AccountId}` : `${ctx.Region} · ${ctx.AccountId}`;
  signOutButton.hidden = ctx.Auth !== 'sigv4';
}

/** Shows the sign-in form; `error` is a reason the session could not be opened. */
function signedOut(error) {
  ctx = undefined;
  nav.hidden = true;
  who.textContent = '';
  signOutButton.hidden = true;
  clear(main);
  renderSignIn(main, error && errorText(error), async (credentials) => {
    await api.openSession(credentials);
    signedIn(await api.context());
    flash('');
    await show();
  });
  main.querySelector('h1')?.focus();
}

/** The console could not start (the server is unreachable, or answered oddly). */
function failed(err) {
  clear(main).append(
    h('h1', { tabindex: '-1' }, 'The key console cannot start'),
    h('p', { class: 'error', role: 'alert' }, errorText(err)),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => void start() }, 'Try again')),
  );
  main.querySelector('h1')?.focus();
}

const sessionError = (err) => err instanceof AwsError && (err.type === 'ExpiredTokenException' || err.type === 'MissingAuthenticationTokenException');

async function start() {
  ctx = undefined;
  if (api.hasSession()) {
    try {
      signedIn(await api.context());
    } catch (err) {
      // A session from before a restart: open a new one below.
      if (!sessionError(err)) return failed(err);
    }
  }
  if (!ctx) {
    try {
      await api.openSession();
      signedIn(await api.context());
    } catch (err) {
      // Under --auth sigv4 the server asks for an access key first, or says why it cannot.
      if (err instanceof AwsError && err.type === 'MissingAuthenticationTokenException') return signedOut();
      if (err instanceof AwsError && err.type === 'AccessDeniedException') return signedOut(err);
      return failed(err);
    }
  }
  await show();
}

/** Takes the server's context again after a silent renewal; the page is redrawn if it changed. */
async function refreshContext() {
  const before = ctx;
  let fresh;
  try {
    fresh = await api.context();
  } catch {
    return; // a later request meets the same failure and reports it
  }
  if (!before || ctx !== before) return; // signed out, or in again, meanwhile
  signedIn(fresh);
  if (JSON.stringify(fresh) !== JSON.stringify(before)) await show();
}

// A session the server no longer knows (expired, or the server restarted): without sign-in a
// new one is opened at once and the requests that failed are sent again; with sign-in the form
// comes back. While the console starts (no ctx yet), start() opens the session itself.
api.onSessionLost(async () => {
  if (!ctx) return false;
  if (ctx.Auth === 'none') {
    try {
      await api.openSession();
      // The server may have restarted with another region, account or build: its context is read
      // again once this renewal is over (a call made from here would wait for it).
      setTimeout(() => void refreshContext(), 0);
      return true;
    } catch (err) {
      // The server now asks for an access key (restarted with --auth sigv4): the form, below.
      if (!sessionError(err)) throw err;
    }
  }
  signedOut();
  flash('Your session has ended. Sign in again.');
  return false;
});

signOutButton.addEventListener('click', async () => {
  await api.signOut().catch(() => undefined);
  signedOut();
  flash('You have signed out.');
});
window.addEventListener('hashchange', () => void show());
void start().catch(failed);
