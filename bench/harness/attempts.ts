/**
 * The shared broker and database may restart under a run (other work on this machine does that). A run
 * that fails is run again, up to `attempts` times, after a pause.
 */
import { sleep } from '../../test/support/wait.js';

export async function withRetries<T>(label: string, attempts: number, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts) throw error;
      console.error(
        `bench: ${label} failed (attempt ${attempt} of ${attempts}): ${String(error).slice(0, 500)}; retrying in 10 s`,
      );
      await sleep(10_000);
    }
  }
}
