/** Runs `node dist/main.js` as a child process, as an operator would, and reads its JSON log. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const mainScript = path.join(repoRoot, 'dist/main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type LogLine = Record<string, unknown> & { level: string; message: string };

export interface ServiceProcess {
  readonly port: number;
  readonly url: string;
  readonly logs: LogLine[];
  readonly stderr: string[];
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  waitForReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<number | string>;
  kill(): Promise<number | string>;
}

export async function startService(
  env: Record<string, string>,
  mode: 'both' | 'user' | 'card' = 'both',
  { waitReady = true }: { waitReady?: boolean } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [mainScript, mode], {
    env: { PATH: process.env.PATH ?? '', ...env, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', message: line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const url = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    port,
    url,
    logs,
    stderr,
    child,
    exited,
    async waitForReady(timeoutMs = 60_000) {
      let ended: number | string | undefined;
      void exited.then((code) => (ended = code));
      await waitUntil(
        async () => {
          if (ended !== undefined) throw new Error(`process exited with ${ended}: ${stderr.join('')}`);
          const response = await fetch(`${url}/readyz`);
          return response.status === 200;
        },
        {
          timeoutMs,
          what: () => `${mode} service on port ${port} to be ready; stderr: ${stderr.join('').slice(-2000)}`,
        },
      );
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  if (waitReady) await service.waitForReady();
  return service;
}
