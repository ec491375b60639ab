/**
 * Starts a service process (`node dist/main.js both`, or the compiled reference) with its stdout, the log,
 * going to a file: logging stays on at the configured level, and the file is counted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/support/service-process.js';
import { onInterrupt } from './interrupts.js';
import { countLoggedTransitions, type CountsByMachine } from './transitions.js';
import { sleep } from '../../test/support/wait.js';

export interface ServiceProcess {
  readonly label: string;
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  waitForReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
  /** Counts the log's lines and its `transition` lines, then deletes the file unless kept. */
  logSummary(keep: boolean): Promise<LogSummary>;
}

export interface LogSummary {
  readonly lines: number;
  readonly transitions: number;
  readonly transitionsByMachine: CountsByMachine;
  readonly file?: string;
}

export async function startProcess(options: {
  label: string;
  script: string;
  args?: readonly string[];
  nodeArgs?: readonly string[];
  env: Record<string, string>;
}): Promise<ServiceProcess> {
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `ackstate-bench-${options.label}-${process.pid}-${Date.now()}.log`);
  const logFd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', ...options.env, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' },
    stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let ended: number | string | undefined;
  const forget = onInterrupt(() => {
    child.kill('SIGKILL');
  });
  void exited.then((code) => {
    ended = code;
    forget();
  });
  const url = `http://127.0.0.1:${port}`;
  if (child.pid === undefined) throw new Error(`${options.label}: could not start ${options.script}`);
  return {
    label: options.label,
    pid: child.pid,
    url,
    logFile,
    child,
    async waitForReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (ended !== undefined)
          throw new Error(`${options.label} exited with ${ended}: ${stderr.join('').slice(-2000)}`);
        try {
          const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
          await response.arrayBuffer();
          if (response.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline)
          throw new Error(`${options.label} not ready within ${timeoutMs} ms: ${stderr.join('').slice(-2000)}`);
        await sleep(100);
      }
    },
    async stop(graceMs = 30_000) {
      if (ended !== undefined) return ended;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async logSummary(keep) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      const lines = text.split('\n').filter(Boolean).length;
      const transitionsByMachine = countLoggedTransitions(text);
      const transitions = Object.values(transitionsByMachine).reduce((sum, count) => sum + count, 0);
      if (!keep) await rm(logFile, { force: true });
      return { lines, transitions, transitionsByMachine, ...(keep ? { file: logFile } : {}) };
    },
  };
}
