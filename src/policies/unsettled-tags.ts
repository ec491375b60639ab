/**
 * The deliveries of one channel that are neither acked nor nacked yet, by delivery tag, and which of them
 * are finished and only wait for their ack. An ack with `multiple` set acks every unacked delivery of the
 * channel up to its tag, so it may go out only when every unsettled tag up to there is a finished one: a
 * finished batch behind an unfinished delivery is held until the deliveries before it are settled, and then
 * it and whatever else was held go out in one frame (the way a hand-written pipeline orders its acks). One
 * frame instead of one per message saves work on both sides of the link, and the broker shares the
 * machine's cores with the services. How long acks may be held is the caller's bound (`settlement.ts`):
 * behind a delivery that stays unsettled for long, the held ones are taken and acked one by one.
 */
export class UnsettledTags<T> {
  /** In the order delivered, which is increasing: a channel numbers its deliveries 1, 2, 3, … */
  readonly #unsettled = new Map<number, T>();
  /** Among them, the finished ones whose ack waits for the deliveries before them. */
  readonly #held = new Set<number>();

  /** A delivery arrived, `item` standing for it in what the other methods return. */
  delivered(tag: number, item: T): void {
    this.#unsettled.set(tag, item);
  }

  /** A delivery was acked or nacked on its own; it holds nothing back any more. */
  settled(tag: number): void {
    this.#unsettled.delete(tag);
    this.#held.delete(tag);
  }

  /** These deliveries are finished: their acks wait until `release` can send them. Unknown tags are ignored. */
  hold(tags: Iterable<number>): void {
    for (const tag of tags) if (this.#unsettled.has(tag)) this.#held.add(tag);
  }

  /**
   * The longest run of held deliveries at the bottom of the channel's unsettled ones, taken out: an ack with
   * `multiple` up to the last of them acks exactly these. Empty while the lowest unsettled delivery is
   * unfinished.
   */
  release(): T[] {
    const released: T[] = [];
    for (const [tag, item] of this.#unsettled) {
      if (!this.#held.has(tag)) break;
      released.push(item);
      this.#held.delete(tag);
      this.#unsettled.delete(tag);
    }
    return released;
  }

  /** How many finished deliveries wait for their ack. */
  get held(): number {
    return this.#held.size;
  }

  /** Every held delivery, taken out, to be acked one by one (each ack without `multiple`). */
  takeHeld(): T[] {
    const taken: T[] = [];
    for (const tag of this.#held) {
      taken.push(this.#unsettled.get(tag)!);
      this.#unsettled.delete(tag);
    }
    this.#held.clear();
    return taken;
  }
}
