/**
 * `first`, then `next`, waiting for `first` only if it returned a promise: a window function
 * that awaits keeps the work after it in order without costing the common, synchronous path a
 * promise. (Not named `then`: a module exporting `then` is a thenable to import().)
 */
export function andThen(first: void | Promise<void>, next: () => void | Promise<void>): void | Promise<void> {
  return first instanceof Promise ? first.then(next) : next();
}
