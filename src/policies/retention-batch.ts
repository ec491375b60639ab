/**
 * How many rows the next retention batch removes. A batch holds its rows' locks until it commits, so its
 * size follows its duration: a batch slower than the target halves the next one (down to `minRows`), and a
 * full batch well under the target doubles it again (up to `maxRows`, the configured batch size). A table
 * that is busy or bloated is thus swept in smaller steps instead of in long ones.
 */
export interface BatchSizing {
  /** The configured batch size: where sweeping starts, and the largest batch. */
  readonly maxRows: number;
  readonly minRows: number;
  /** How long one batch should take at most. */
  readonly targetMs: number;
}

/** The sizing of the runtime's sweeps: batches of at most the configured size, each meant to take under 250 ms. */
export const retentionSizing = (maxRows: number): BatchSizing => ({
  maxRows,
  minRows: Math.min(maxRows, 10),
  targetMs: 250,
});

/** The size of the batch after one of `size` rows that removed `removed` rows in `tookMs`. */
export function nextBatchSize(sizing: BatchSizing, size: number, removed: number, tookMs: number): number {
  if (tookMs > sizing.targetMs) return Math.max(sizing.minRows, Math.floor(size / 2));
  if (removed >= size && tookMs < sizing.targetMs / 2) return Math.min(sizing.maxRows, size * 2);
  return Math.min(sizing.maxRows, Math.max(sizing.minRows, size));
}
