/** A RabbitMQ user of one test's own, made and removed with rabbitmqctl (the shared broker is not restarted). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const rabbitmqctl = (...args: string[]) => run('rabbitmqctl', args, { timeout: 60_000 });

export interface BrokerUser {
  readonly name: string;
  readonly password: string;
  remove(): Promise<void>;
}

/** Creates a user with full permissions on the default vhost `/`. */
export async function createBrokerUser(name: string, password: string): Promise<BrokerUser> {
  await rabbitmqctl('add_user', name, password);
  await rabbitmqctl('set_permissions', '-p', '/', name, '.*', '.*', '.*');
  return {
    name,
    password,
    async remove() {
      await rabbitmqctl('delete_user', name);
    },
  };
}
