/**
 * What an interrupted or crashed bench (Ctrl-C, SIGTERM, an uncaught error) must still undo: its service
 * processes and wrk stopped, its queues and databases removed on the shared broker and PostgreSQL.
 */
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();

/** Registers work to do if the bench is interrupted; returns the function that unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function cleanUpOnSignals(): void {
  let interrupted = false;
  const cleanUpAndExit = (reason: string, code: number) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench: ${reason}: stopping the pipelines and removing their queues and databases`);
    // Processes first (in registration order they were started after their environment), then the rest.
    const ordered = [...cleanups].reverse();
    void (async () => {
      for (const cleanup of ordered) await Promise.resolve(cleanup()).catch(() => {});
      process.exit(code);
    })();
  };
  process.on('SIGINT', () => cleanUpAndExit('SIGINT', 130));
  process.on('SIGTERM', () => cleanUpAndExit('SIGTERM', 130));
  // A bench that fails unexpectedly must not leave its service processes running (they would go on
  // redeclaring their queues and using the machine under the next runs) nor its databases behind.
  const crash = (error: unknown) => {
    console.error(error);
    cleanUpAndExit('failed', 1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
