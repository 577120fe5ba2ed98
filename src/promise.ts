// Whether a result is a promise (work still running) or the value itself (work done inline).
//
// Tested against the engine's own Promise, which every async function and the addon return,
// not the global `Promise`: an application may replace that (`global.Promise = Bluebird`), and
// then a pending result would pass for a finished one.
const IntrinsicPromise = (async () => {})().constructor as PromiseConstructor;

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return v instanceof IntrinsicPromise;
}

/** `f` of a value, or of a promise's value once it settles: no promise when there was none. */
export function andThen<T, U>(v: T | Promise<T>, f: (value: T) => U): U | Promise<U> {
  return isPromise(v) ? v.then(f) : f(v);
}
