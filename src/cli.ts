#!/usr/bin/env node
/**
 * ackstate dlq list|show|replay|purge <queue> …: the dead-letter tool (src/dead-letters/cli/usage.ts has the help);
 * ackstate actors list|show <actor> …: the durable actors' instances (src/actors-cli/usage.ts).
 * Every line it prints goes through redact(), so no password from a URL or an error reaches the output.
 */
import { createInterface } from 'node:readline/promises';
import { runCli } from './dead-letters/cli/run.js';
import { redact } from './redact.js';

async function ask(question: string): Promise<string> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => void process.stdout.write(redact(text)),
  err: (text) => void process.stderr.write(redact(text)),
  stdinIsTerminal: process.stdin.isTTY === true,
  ask,
  now: () => new Date(),
});
process.exitCode = code;
// A connection attempt given up at its deadline may still hold a socket; it must not keep the process.
setTimeout(() => process.exit(code), 1_000).unref();
