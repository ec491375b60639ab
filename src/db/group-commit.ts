/**
 * Group commit: work items (for example users created over HTTP) that arrive while `concurrency` batches
 * are running wait, and the next free place takes them together, up to `maxBatch`, into one call of `run`
 * (one transaction). An idle system runs each item at once, alone. A batch that fails is split: each of its
 * items runs again alone, so that one item's failure is its own and never its neighbours'.
 */
export interface GroupCommitOptions {
  readonly maxBatch: number;
  readonly concurrency: number;
}

interface Waiting<Item, Result> {
  readonly item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export class GroupCommit<Item, Result> {
  readonly #run: (items: readonly Item[]) => Promise<readonly Result[]>;
  readonly #maxBatch: number;
  readonly #concurrency: number;
  #waiting: Waiting<Item, Result>[] = [];
  #running = 0;
  #scheduled = false;

  constructor(run: (items: readonly Item[]) => Promise<readonly Result[]>, { maxBatch, concurrency }: GroupCommitOptions) {
    this.#run = run;
    this.#maxBatch = maxBatch;
    this.#concurrency = concurrency;
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  // Items submitted in the same turn of the event loop go together.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#waiting.length > 0 && this.#running < this.#concurrency) {
        void this.#runBatch(this.#waiting.splice(0, this.#maxBatch));
      }
    });
  }

  async #runBatch(batch: readonly Waiting<Item, Result>[]): Promise<void> {
    this.#running += 1;
    let results: readonly Result[] | undefined;
    let failure: unknown;
    try {
      results = await this.#run(batch.map(({ item }) => item));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
    } catch (error) {
      failure = error;
    } finally {
      this.#running -= 1;
      if (this.#waiting.length > 0) this.#schedule();
    }
    if (results && failure === undefined) {
      batch.forEach((waiting, index) => waiting.resolve(results[index]!));
    } else if (batch.length === 1) {
      batch[0]!.reject(failure);
    } else {
      for (const waiting of batch) void this.#runBatch([waiting]);
    }
  }
}
