/**
 * Group commit: items submitted while the pool's transactions are busy (or within the same event-loop
 * turn) are committed together, up to `maxBatch` per transaction and `concurrency` transactions at once.
 * Each submitter gets its own item's result back, or the batch's error.
 */
export type CommitBatch<I, O> = (items: readonly I[]) => Promise<readonly O[]>;

interface Waiting<I, O> {
  readonly item: I;
  resolve(result: O): void;
  reject(error: unknown): void;
}

export class GroupCommit<I, O> {
  readonly #waiting: Waiting<I, O>[] = [];
  #running = 0;
  #scheduled = false;

  constructor(
    private readonly commit: CommitBatch<I, O>,
    private readonly maxBatch: number,
    private readonly concurrency: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running >= this.concurrency || this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#running < this.concurrency && this.#waiting.length > 0) {
        void this.#run(this.#waiting.splice(0, this.maxBatch));
      }
    });
  }

  async #run(batch: readonly Waiting<I, O>[]): Promise<void> {
    this.#running += 1;
    try {
      const results = await this.commit(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, index) => waiting.resolve(results[index]!));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.#running -= 1;
      this.#schedule();
    }
  }
}
