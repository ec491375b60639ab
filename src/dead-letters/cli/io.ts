/** What a command may touch of its process, so that commands read and write nothing else. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly stdinIsTerminal: boolean;
  /** Asks a question on the terminal and resolves with the answer. */
  readonly ask: (question: string) => Promise<string>;
  readonly now: () => Date;
}

export const exitCode = {
  done: 0,
  /** Broker unreachable, no such queue, a dead letter not found or not replayed. */
  failed: 1,
  /** Bad arguments or settings, or a purge not confirmed. */
  refused: 2,
} as const;
