/**
 * `ackstate`: reads the command line, connects (bounded in time), runs one command and says how it went
 * in the exit status. Passwords never reach the output: cli.ts passes every line through redact().
 */
import type { ChannelModel } from 'amqplib';
import { runActorsCli } from '../../actors-cli/run.js';
import { connectToBroker } from '../connection.js';
import { describeError } from '../../policies/describe-error.js';
import { NoSuchQueueError } from '../queue.js';
import { parseCommandLine, UsageError, type Command } from './arguments.js';
import { brokerSettings, SettingsError } from './broker-settings.js';
import { listCommand } from './commands/list.js';
import { purgeCommand } from './commands/purge.js';
import { replayCommand } from './commands/replay.js';
import { showCommand } from './commands/show.js';
import { exitCode, type CliIo } from './io.js';

/** Per broker URL, for the connection and the AMQP handshake (as the services' connect timeout). */
const connectTimeoutMs = 10_000;

type BrokerCommand = Exclude<Command, { kind: 'help' }>;

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === 'actors') return runActorsCli(argv.slice(1), io);
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`ackstate: ${error.message}\n\n${error.usage}`);
    return exitCode.refused;
  }
  if (command.kind === 'help') {
    io.out(command.text);
    return exitCode.done;
  }
  if (command.kind === 'purge' && !command.yes && !io.stdinIsTerminal) {
    io.err(
      `ackstate: refusing to purge ${command.queue}.dead: stdin is not a terminal to confirm on; add --yes to purge without asking\n`,
    );
    return exitCode.refused;
  }
  let settings;
  try {
    settings = brokerSettings(command.url, io.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    io.err(`ackstate: ${error.message}\n`);
    return exitCode.refused;
  }
  let connection: ChannelModel;
  try {
    connection = await connectToBroker({ ...settings, timeoutMs: connectTimeoutMs });
  } catch (error) {
    io.err(`ackstate: ${describeError(error)}\n`);
    return exitCode.failed;
  }
  try {
    return await runBrokerCommand(command, connection, io);
  } catch (error) {
    io.err(`ackstate: ${failureMessage(error, command)}\n`);
    return exitCode.failed;
  } finally {
    await connection.close().catch(() => {});
  }
}

function runBrokerCommand(command: BrokerCommand, connection: ChannelModel, io: CliIo): Promise<number> {
  switch (command.kind) {
    case 'list':
      return listCommand(connection, io, command);
    case 'show':
      return showCommand(connection, io, command);
    case 'replay':
      return replayCommand(connection, io, command);
    case 'purge':
      return purgeCommand(connection, io, command);
  }
}

function failureMessage(error: unknown, command: BrokerCommand): string {
  if (error instanceof NoSuchQueueError) {
    return `${error.message} (the dead letters of ${command.queue} would be there; is ${command.queue} the name of a queue the services consume?)`;
  }
  return describeError(error);
}
