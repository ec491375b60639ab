/** The phases of a long fault test, announced as each starts, under a timeout of its own. */
import type { ExecutionContext } from 'ava';

/**
 * Gives a long test a timeout of its own, `budgetMs` (ava's 5-minute timeout of the serial run is less
 * than a slow but healthy run of a cluster test: each of its waits is bounded, their bounds add up to far
 * more), and returns a function that announces each phase on stderr as it starts, with the time since the
 * test began: when a test is stopped by a timeout, ava shows none of its `t.log` lines, and the last
 * phase printed says where it was.
 */
export function phases(t: ExecutionContext, budgetMs: number): (name: string) => void {
  t.timeout(budgetMs, `the test took longer than its ${budgetMs / 60_000} minutes`);
  const began = Date.now();
  return (name) => {
    const line = `+${((Date.now() - began) / 1000).toFixed(1)} s ${name}`;
    console.error(`[${t.title}] ${line}`);
    t.log(line);
  };
}
