/**
 * Batching by places: at most `concurrency` batches run at once. An item that arrives while a place is free
 * starts at once (with whatever arrived in the same turn of the event loop); items that arrive while every
 * place is taken wait, and the next free place takes up to `maxBatch` of them together. An idle system
 * therefore adds no wait, and a busy one forms batches as large as the work behind it. `maxBatch` 1 turns
 * batching off: every item starts at once, alone, however many are running (nothing would be gained by
 * making it wait).
 */
export interface BatcherOptions<Item> {
  readonly maxBatch: number;
  readonly concurrency: number;
  /** Checked when a batch is formed: an item that fails it is dropped (for example, its channel is gone). */
  readonly admit?: (item: Item) => boolean;
}

export class Batcher<Item> {
  /** Runs a batch; its place is free again when the promise settles. */
  readonly #start: (items: Item[]) => Promise<unknown>;
  readonly #options: BatcherOptions<Item>;
  #waiting: Item[] = [];
  #running = 0;
  #scheduled = false;

  constructor(start: (items: Item[]) => Promise<unknown>, options: BatcherOptions<Item>) {
    this.#start = start;
    this.#options = options;
  }

  add(item: Item): void {
    if (this.#options.maxBatch === 1) {
      this.#launch([item]).catch(() => {});
      return;
    }
    this.#waiting.push(item);
    this.#schedule();
  }

  /** Forgets every waiting item (they are never started). */
  clear(): void {
    this.#waiting = [];
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const { maxBatch, concurrency, admit } = this.#options;
    if (admit && !this.#waiting.every(admit)) this.#waiting = this.#waiting.filter(admit);
    while (this.#waiting.length > 0 && this.#running < concurrency) {
      this.#running += 1;
      this.#launch(this.#waiting.splice(0, maxBatch))
        .catch(() => {})
        .finally(() => {
          this.#running -= 1;
          if (this.#waiting.length > 0) this.#schedule();
        });
    }
  }

  #launch(batch: Item[]): Promise<unknown> {
    try {
      return this.#start(batch);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
