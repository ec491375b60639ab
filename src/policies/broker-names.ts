/**
 * The names ackstate accepts for queues and exchanges: letters, digits and `_ . : -`, 1 to 200 of them,
 * never starting with `amq.` (the broker's own). Narrower than AMQP allows, so that every name prints and
 * quotes safely in logs, metric labels and shells.
 */
const allowed = /^[A-Za-z0-9_.:-]+$/;

/** Why a name is refused, or undefined when it is fine. */
export function brokerNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 200) return 'must be 1 to 200 characters long';
  if (!allowed.test(name)) return 'may hold only letters, digits and _ . : -';
  if (name.startsWith('amq.')) return 'must not start with amq. (names the broker keeps for itself)';
  return undefined;
}
