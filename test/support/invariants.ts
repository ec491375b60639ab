/**
 * The invariant checker every scenario ends with. It waits (polling, with a generous bound) until the
 * system has drained, then checks that nothing was lost and nothing doubled:
 * - every user created exists in the user service's and the card service's database;
 * - every user has exactly one card in the card service, and the user service holds that same card;
 * - no card exists for a user that was never created; no outbox row is left unsent;
 * - both queues are empty with nothing unacked; the dead-letter queues hold exactly the expected
 *   poison messages, each with its reason.
 * It returns the violations (empty when all hold) and the figures the chaos summary prints.
 */
import { deadLetterHeader } from '../../src/policies/dead-letter.js';
import { peekQueue } from './broker.js';
import type { TestEnvironment } from './environment.js';
import { query } from './environment.js';
import { listQueues } from './services-control.js';
import { sleep } from './wait.js';

export interface ExpectedDeadLetter {
  readonly queue: string;
  readonly reason: RegExp;
}

export interface InvariantOptions {
  readonly environment: TestEnvironment;
  /** Ids answered with 201; the check also covers users whose 201 was lost in a fault. */
  readonly createdUserIds: readonly string[];
  readonly expectedDeadLetters?: readonly ExpectedDeadLetter[];
  readonly timeoutMs?: number;
  /** Another broker than the local one (a test cluster): a node for rabbitmqctl and a URL to peek with. */
  readonly broker?: { readonly node: string; readonly amqpUrl: string };
}

export interface InvariantReport {
  readonly violations: string[];
  readonly users: number;
  readonly withExactlyOneCard: number;
  readonly lost: number;
  readonly doubled: number;
  readonly deadLettered: number;
  readonly drainMs: number;
}

interface Snapshot {
  userServiceUsers: Set<string>;
  cardServiceUsers: Set<string>;
  cardServiceCards: Map<string, { id: string; number: string }[]>;
  userServiceCards: Map<string, { id: string; number: string }>;
  unsent: { user: number; card: number };
  queues: { name: string; ready: number; unacked: number }[];
}

async function takeSnapshot(environment: TestEnvironment, withQueues: boolean, node?: string): Promise<Snapshot> {
  const [userRows, cardUserRows, cardRows, storedCards, userUnsent, cardUnsent] = await Promise.all([
    query<{ id: string }>(environment.userDbUrl, 'SELECT id FROM users'),
    query<{ id: string }>(environment.cardDbUrl, 'SELECT id FROM users'),
    query<{ id: string; user_id: string; number: string }>(
      environment.cardDbUrl,
      'SELECT id, user_id, number FROM cards',
    ),
    query<{ id: string; user_id: string; number: string }>(
      environment.userDbUrl,
      'SELECT id, user_id, number FROM cards',
    ),
    query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'),
    query<{ n: string }>(environment.cardDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'),
  ]);
  const cardServiceCards = new Map<string, { id: string; number: string }[]>();
  for (const card of cardRows) {
    const list = cardServiceCards.get(card.user_id) ?? [];
    list.push({ id: card.id, number: card.number });
    cardServiceCards.set(card.user_id, list);
  }
  const queueNames = new Set([environment.userQueue, environment.cardQueue]);
  const queues = withQueues
    ? (await listQueues(node))
        .filter((queue) => queueNames.has(queue.name))
        .map((queue) => ({ name: queue.name, ready: queue.messages_ready, unacked: queue.messages_unacknowledged }))
    : [];
  return {
    userServiceUsers: new Set(userRows.map((row) => row.id)),
    cardServiceUsers: new Set(cardUserRows.map((row) => row.id)),
    cardServiceCards,
    userServiceCards: new Map(storedCards.map((card) => [card.user_id, { id: card.id, number: card.number }])),
    unsent: { user: Number(userUnsent[0]!.n), card: Number(cardUnsent[0]!.n) },
    queues,
  };
}

function drainBlockers(snapshot: Snapshot, created: readonly string[]): string[] {
  const blockers: string[] = [];
  const missingUsers = created.filter((id) => !snapshot.userServiceUsers.has(id));
  if (missingUsers.length > 0)
    blockers.push(
      `${missingUsers.length} created users missing from the user service (${missingUsers.slice(0, 5).join(', ')})`,
    );
  const withoutCard = [...snapshot.userServiceUsers].filter((id) => !snapshot.userServiceCards.has(id));
  if (withoutCard.length > 0)
    blockers.push(
      `${withoutCard.length} users without a stored card in the user service (${withoutCard.slice(0, 5).join(', ')})`,
    );
  if (snapshot.unsent.user > 0) blockers.push(`${snapshot.unsent.user} unsent rows in the user service's outbox`);
  if (snapshot.unsent.card > 0) blockers.push(`${snapshot.unsent.card} unsent rows in the card service's outbox`);
  for (const queue of snapshot.queues) {
    if (queue.ready > 0 || queue.unacked > 0)
      blockers.push(`${queue.name} holds ${queue.ready} ready and ${queue.unacked} unacked messages`);
  }
  return blockers;
}

export async function checkInvariants({
  environment,
  createdUserIds,
  expectedDeadLetters = [],
  timeoutMs = 180_000,
  broker,
}: InvariantOptions): Promise<InvariantReport> {
  const started = Date.now();
  let snapshot: Snapshot | undefined;
  let blockers: string[] = ['nothing checked yet'];
  while (Date.now() - started < timeoutMs) {
    try {
      snapshot = await takeSnapshot(environment, false, broker?.node);
      if (drainBlockers(snapshot, createdUserIds).length === 0) {
        snapshot = await takeSnapshot(environment, true, broker?.node);
        blockers = drainBlockers(snapshot, createdUserIds);
        if (blockers.length === 0) break;
      } else {
        blockers = drainBlockers(snapshot, createdUserIds);
      }
    } catch (error) {
      blockers = [`could not read the state: ${error instanceof Error ? error.message : String(error)}`];
    }
    await sleep(500);
  }
  const drainMs = Date.now() - started;
  const violations: string[] = [];
  if (blockers.length > 0) violations.push(`not drained after ${timeoutMs} ms: ${blockers.join('; ')}`);
  snapshot ??= await takeSnapshot(environment, true, broker?.node);

  const allUsers = new Set([...createdUserIds, ...snapshot.userServiceUsers]);
  let withExactlyOneCard = 0;
  let lost = 0;
  let doubled = 0;
  const problems: string[] = [];
  for (const id of allUsers) {
    const cards = snapshot.cardServiceCards.get(id) ?? [];
    const stored = snapshot.userServiceCards.get(id);
    if (!snapshot.userServiceUsers.has(id)) problems.push(`user ${id} missing from the user service`);
    if (!snapshot.cardServiceUsers.has(id)) problems.push(`user ${id} missing from the card service`);
    if (cards.length > 1) {
      doubled += 1;
      problems.push(`user ${id} has ${cards.length} cards in the card service`);
    } else if (cards.length === 0 || !stored) {
      lost += 1;
      problems.push(
        `user ${id} has ${cards.length} cards in the card service and ${stored ? 'one' : 'none'} in the user service`,
      );
    } else if (cards[0]!.id !== stored.id || cards[0]!.number !== stored.number) {
      problems.push(`user ${id} holds card ${stored.id} but the card service issued ${cards[0]!.id}`);
    } else {
      withExactlyOneCard += 1;
    }
  }
  for (const userId of snapshot.cardServiceCards.keys()) {
    if (!snapshot.userServiceUsers.has(userId)) problems.push(`card issued for user ${userId}, who was never created`);
  }
  violations.push(...problems.slice(0, 20));
  if (problems.length > 20) violations.push(`… and ${problems.length - 20} more`);

  let deadLettered = 0;
  for (const queue of [environment.userQueue, environment.cardQueue]) {
    const dead = await peekQueue(`${queue}.dead`, broker?.amqpUrl);
    deadLettered += dead.length;
    const expected = expectedDeadLetters.filter((letter) => letter.queue === queue);
    if (dead.length !== expected.length) {
      violations.push(`${queue}.dead holds ${dead.length} messages, expected ${expected.length}`);
      continue;
    }
    const reasons = dead.map((message) => String(message.properties.headers?.[deadLetterHeader.reason] ?? ''));
    const unmatched = [...reasons];
    for (const letter of expected) {
      const index = unmatched.findIndex((reason) => letter.reason.test(reason));
      if (index === -1)
        violations.push(
          `${queue}.dead has no dead letter whose reason matches ${letter.reason} (reasons: ${reasons.join(' | ')})`,
        );
      else unmatched.splice(index, 1);
    }
  }
  return { violations, users: allUsers.size, withExactlyOneCard, lost, doubled, deadLettered, drainMs };
}
