/**
 * Work for a subtask that does not come through its inputs (checkpoint notifications, triggers,
 * cancellation), run by the subtask's own loop between records so that it never interleaves with
 * a user function (Flink's mailbox model).
 */
export type Mail = () => void | Promise<void>;

export class Mailbox {
  readonly #mails: Mail[] = [];
  #wake: (() => void) | undefined;
  #signal: Promise<void> | undefined;

  put(mail: Mail): void {
    this.#mails.push(mail);
    this.#wake?.();
    this.#wake = undefined;
    this.#signal = undefined;
  }

  get hasMail(): boolean {
    return this.#mails.length > 0;
  }

  /**
   * Resolves when mail arrives (at once if some is waiting). A new promise per call, and only the
   * latest is woken: a promise lost in a race is then garbage, instead of collecting reactions.
   */
  signal(): Promise<void> {
    if (this.#mails.length > 0) return Promise.resolve();
    this.#signal = new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#signal;
  }

  async runAll(): Promise<void> {
    while (this.#mails.length > 0) await this.#mails.shift()!(); // length checked by the loop
  }
}
