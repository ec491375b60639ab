/** What the throwaway RabbitMQ and PostgreSQL clusters of the tests share: their system users, live pids. */
import { readFileSync } from 'node:fs';

/** The uid and gid of a system user (`rabbitmq`, `postgres`), for the folders its servers run in. */
export function systemUserIds(name: string): { uid: number; gid: number } {
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith(`${name}:`));
  if (!entry) throw new Error(`no ${name} user on this machine`);
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** True while a process with this pid exists. */
export const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
