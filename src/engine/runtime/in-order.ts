/**
 * Runs steps one after another, synchronously while they are synchronous: only a step that
 * returns a promise makes the rest wait for it (and the caller gets a promise). Window firing
 * uses it so a window function that awaits keeps its output in order without costing the common,
 * synchronous path a promise per record.
 */
export function inOrder(steps: readonly (() => void | Promise<void>)[], from = 0): void | Promise<void> {
  for (let i = from; i < steps.length; i++) {
    const result = steps[i]!();
    if (result instanceof Promise) return result.then(() => inOrder(steps, i + 1));
  }
}

/** `first`, then `next` (not named `then`: a module exporting `then` is a thenable to import()), waiting for `first` only if it returned a promise. */
export function andThen(first: void | Promise<void>, next: () => void | Promise<void>): void | Promise<void> {
  return first instanceof Promise ? first.then(next) : next();
}
