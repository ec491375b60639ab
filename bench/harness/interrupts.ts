/**
 * What an interrupted bench (Ctrl-C, SIGTERM) must still undo: its service processes and wrk stopped,
 * its queues and databases removed on the shared broker and PostgreSQL.
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
  const handle = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench: ${signal}: stopping the pipelines and removing their queues and databases`);
    // Processes first (in registration order they were started after their environment), then the rest.
    const ordered = [...cleanups].reverse();
    void (async () => {
      for (const cleanup of ordered) await Promise.resolve(cleanup()).catch(() => {});
      process.exit(130);
    })();
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
