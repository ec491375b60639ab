/**
 * Group commit: work items (for example users created over HTTP) are batched by places (see
 * `policies/batcher.ts`) and each batch is one call of `run` (one transaction). An idle system runs each
 * item at once, alone. A batch that fails is split: each of its items runs again alone, so that one item's
 * failure is its own and never its neighbours'. A failure that `split` declines (an outage, which every
 * item would meet again) fails the whole batch at once instead.
 */
import { Batcher, type BatcherOptions } from '../policies/batcher.js';

interface Waiting<Item, Result> {
  readonly item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export interface GroupCommitOptions<Item> extends Pick<BatcherOptions<Item>, 'maxBatch' | 'concurrency'> {
  /** Whether a failed batch is worth splitting; by default every failure is. */
  readonly split?: (error: unknown) => boolean;
}

export class GroupCommit<Item, Result> {
  readonly #run: (items: readonly Item[]) => Promise<readonly Result[]>;
  readonly #batcher: Batcher<Waiting<Item, Result>>;
  readonly #split: (error: unknown) => boolean;

  constructor(
    run: (items: readonly Item[]) => Promise<readonly Result[]>,
    { split = () => true, ...options }: GroupCommitOptions<Item>,
  ) {
    this.#run = run;
    this.#split = split;
    this.#batcher = new Batcher((batch) => this.#runBatch(batch), options);
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => this.#batcher.add({ item, resolve, reject }));
  }

  async #runBatch(batch: readonly Waiting<Item, Result>[]): Promise<void> {
    let results: readonly Result[];
    try {
      results = await this.#run(batch.map(({ item }) => item));
      if (results.length !== batch.length)
        throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
    } catch (error) {
      if (batch.length === 1 || !this.#split(error)) for (const waiting of batch) waiting.reject(error);
      // Outside the batcher's places: a split runs at once, as the batch it replaces would have.
      else for (const waiting of batch) void this.#runBatch([waiting]);
      return;
    }
    batch.forEach((waiting, index) => waiting.resolve(results[index]!));
  }
}
