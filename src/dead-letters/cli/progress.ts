/**
 * Progress of a long replay on stderr (`replayed 120/500`): every `every` messages and at least once a
 * second, and only when there are at least `minimumTotal`, so short runs print just their summary.
 */
export interface ProgressOptions {
  readonly total: number;
  readonly write: (line: string) => void;
  readonly now?: () => number;
  readonly every?: number;
  readonly intervalMs?: number;
  readonly minimumTotal?: number;
}

export interface ProgressCounts {
  readonly replayed: number;
  readonly failed: number;
}

export function progressReporter(options: ProgressOptions): (counts: ProgressCounts) => void {
  const { total, write, now = Date.now, every = 100, intervalMs = 1_000, minimumTotal = 100 } = options;
  let lastShownAt = now();
  return ({ replayed, failed }) => {
    if (total < minimumTotal) return;
    const done = replayed + failed;
    if (done === 0 || (done % every !== 0 && now() - lastShownAt < intervalMs)) return;
    lastShownAt = now();
    write(`replayed ${replayed}/${total}${failed > 0 ? ` (${failed} failed)` : ''}\n`);
  };
}
