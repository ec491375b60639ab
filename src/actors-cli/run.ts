/**
 * `ackstate actors …`: reads the command line, connects to the service's database (bounded in time), runs
 * one read-only command and says how it went in the exit status. cli.ts passes every line through redact().
 */
import { createDatabase } from '../db/database.js';
import type { QueryRunner } from '../db/prepared.js';
import { UsageError } from '../dead-letters/cli/arguments.js';
import { exitCode, type CliIo } from '../dead-letters/cli/io.js';
import { describeError, errorCode } from '../policies/describe-error.js';
import { parseActorsCommandLine, type ActorsCommand } from './arguments.js';
import { listCommand } from './commands/list.js';
import { showCommand } from './commands/show.js';
import { DatabaseSettingsError, databaseUrl } from './database-url.js';

/** For each statement's answer (the pool's connect timeout is 5 s). */
const queryTimeoutMs = 10_000;

type DatabaseCommand = Exclude<ActorsCommand, { kind: 'help' }>;

/** Runs `ackstate actors <args>` and resolves with the exit status. */
export async function runActorsCli(args: readonly string[], io: CliIo): Promise<number> {
  let command: ActorsCommand;
  let url: string;
  try {
    command = parseActorsCommandLine(args);
    if (command.kind === 'help') {
      io.out(command.text);
      return exitCode.done;
    }
    url = databaseUrl(command.database, io.env);
  } catch (error) {
    if (error instanceof UsageError) io.err(`ackstate: ${error.message}\n\n${error.usage}`);
    else if (error instanceof DatabaseSettingsError) io.err(`ackstate: ${error.message}\n`);
    else throw error;
    return exitCode.refused;
  }
  // One connection, no named statements: a short-lived reader should leave nothing prepared behind.
  const db = createDatabase<unknown>({ url, maxConnections: 1, queryTimeoutMs, preparedStatements: false });
  try {
    return await runDatabaseCommand(command, db, io);
  } catch (error) {
    io.err(`ackstate: ${failureMessage(error)}\n`);
    return exitCode.failed;
  } finally {
    await db.destroy().catch(() => {});
  }
}

function runDatabaseCommand(command: DatabaseCommand, db: QueryRunner, io: CliIo): Promise<number> {
  switch (command.kind) {
    case 'list':
      return listCommand(db, io, command);
    case 'show':
      return showCommand(db, io, command);
  }
}

function failureMessage(error: unknown): string {
  // 42P01, undefined_table: the runtime has not migrated this database with the actors' tables.
  if (errorCode(error) === '42P01') {
    return `${describeError(error)}: this database has no durable actors' tables (is it the database of a service that defines actors, and has that service run?)`;
  }
  return describeError(error);
}
