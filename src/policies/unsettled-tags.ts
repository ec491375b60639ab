/**
 * The delivery tags of one channel that are neither acked nor nacked yet. A batch whose tags are exactly
 * the lowest of them can be acked with one `basic.ack` with `multiple` set (the broker acks every unacked
 * delivery of the channel up to that tag), which covers that batch and nothing else; any other batch is
 * acked message by message. One frame instead of one per message saves work on both sides of the link,
 * and the broker shares the machine's cores with the services.
 */
export class UnsettledTags {
  /** In the order delivered, which is increasing: a channel numbers its deliveries 1, 2, 3, … */
  readonly #tags = new Set<number>();

  delivered(tag: number): void {
    this.#tags.add(tag);
  }

  settled(tag: number): void {
    this.#tags.delete(tag);
  }

  /**
   * True when `tags` (distinct) are the lowest unsettled tags of the channel: then nothing else unsettled lies
   * at or below the highest of them, and an ack with `multiple` up to it acks exactly these.
   */
  areLowest(tags: readonly number[]): boolean {
    if (tags.length === 0 || tags.length > this.#tags.size) return false;
    const wanted = new Set(tags);
    if (wanted.size !== tags.length) return false;
    let seen = 0;
    for (const tag of this.#tags) {
      if (seen === tags.length) break;
      if (!wanted.has(tag)) return false;
      seen += 1;
    }
    return true;
  }
}
