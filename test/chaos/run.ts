/**
 * The chaos run: two instances of each service, users created through the HTTP API at a steady rate, and
 * a seeded schedule of real faults (process kills, RabbitMQ restarts, terminated and unreachable database
 * connections, cut broker links). Then it heals everything, waits for the drain and runs the invariant
 * checker.
 */
import { databaseName } from '../../src/db/database.js';
import { createTestEnvironment } from '../support/environment.js';
import { checkInvariants, type InvariantReport } from '../support/invariants.js';
import { startFlow } from '../support/load.js';
import { restartBrokerApp, terminateSessions } from '../support/services-control.js';
import { startService, type ServiceProcess } from '../support/service-process.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { faultKinds, faultSchedule, type Fault, type FaultKind, type Target } from './schedule.js';
import { sleep } from '../support/wait.js';

export interface ChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly usersPerSecond: number;
  readonly meanGapMs: number;
  readonly instances: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport extends InvariantReport {
  readonly seed: number;
  readonly durationMs: number;
  readonly created: number;
  readonly faults: Record<FaultKind, number>;
  /** Processes that ended without being killed by the run: a crash is a failure too. */
  readonly crashes: string[];
}

interface Side {
  readonly mode: Target;
  readonly env: Record<string, string>;
  readonly database: string;
  readonly dbProxy: TcpProxy;
  readonly amqpProxy: TcpProxy;
  readonly instances: ServiceProcess[];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const environment = createTestEnvironment(`chaos${options.seed}`, { PUBLISH_TIMEOUT_MS: '2000' });
  const proxies: TcpProxy[] = [];
  const crashes: string[] = [];
  const killed = new WeakSet<ServiceProcess>();
  const sides = new Map<Target, Side>();
  const all = () => [...sides.values()].flatMap((side) => side.instances);

  const launch = async (side: Side, index: number) => {
    const instance = await startService(side.env, side.mode);
    void instance.exited.then((code) => {
      if (!killed.has(instance))
        crashes.push(`${side.mode} instance ${index} exited with ${code}: ${instance.stderr.join('').slice(-500)}`);
    });
    side.instances[index] = instance;
    return instance;
  };

  try {
    for (const mode of ['user', 'card'] as const) {
      const dbUrl = mode === 'user' ? environment.userDbUrl : environment.cardDbUrl;
      const dbProxy = await startTcpProxy(5432);
      const amqpProxy = await startTcpProxy(5672);
      proxies.push(dbProxy, amqpProxy);
      const env = {
        ...environment.env,
        [mode === 'user' ? 'USER_DB_URL' : 'CARD_DB_URL']: throughProxy(dbUrl, dbProxy),
        AMQP_URL: throughProxy(environment.env.AMQP_URL!, amqpProxy),
      };
      const side: Side = { mode, env, database: databaseName(dbUrl), dbProxy, amqpProxy, instances: [] };
      sides.set(mode, side);
      // One at a time at first: the first instance of each service creates and migrates its database.
      for (let index = 0; index < options.instances; index += 1) await launch(side, index);
    }

    let turn = 0;
    const liveUserUrl = () => {
      const live = sides
        .get('user')!
        .instances.filter((instance) => instance.child.exitCode === null && !killed.has(instance));
      turn += 1;
      return (live[turn % Math.max(1, live.length)] ?? sides.get('user')!.instances[0]!).url;
    };
    const flow = startFlow(liveUserUrl, options.usersPerSecond, 'chaos');
    const schedule = faultSchedule({
      seed: options.seed,
      durationMs: options.durationMs,
      meanGapMs: options.meanGapMs,
      instances: options.instances,
    });
    const faults = Object.fromEntries(faultKinds.map((kind) => [kind, 0])) as Record<FaultKind, number>;
    const started = Date.now();

    const inject = async (fault: Fault) => {
      const side = sides.get(fault.target)!;
      switch (fault.kind) {
        case 'kill-process': {
          const victim = side.instances[fault.instance]!;
          killed.add(victim);
          await victim.kill();
          await sleep(fault.durationMs);
          await launch(side, fault.instance);
          break;
        }
        case 'restart-broker':
          await restartBrokerApp(fault.durationMs);
          break;
        case 'terminate-sessions':
          await terminateSessions(side.database);
          break;
        case 'database-outage':
          side.dbProxy.cut();
          await terminateSessions(side.database);
          await sleep(fault.durationMs);
          side.dbProxy.restore();
          break;
        case 'broker-link-cut':
          side.amqpProxy.cut();
          await sleep(fault.durationMs);
          side.amqpProxy.restore();
          break;
      }
    };

    for (const fault of schedule) {
      const wait = started + fault.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      log(
        `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${fault.kind} ${fault.target}${fault.kind === 'kill-process' ? ` #${fault.instance}` : ''} (${flow.created.length} users so far)`,
      );
      await inject(fault);
      faults[fault.kind] += 1;
    }
    const remaining = started + options.durationMs - Date.now();
    if (remaining > 0) await sleep(remaining);

    log('healing and draining');
    const created = await flow.stop();
    for (const proxy of proxies) proxy.restore();
    const report = await checkInvariants({ environment, createdUserIds: created, timeoutMs: 300_000 });
    const violations = [...report.violations, ...crashes.map((crash) => `crash: ${crash}`)];
    return {
      ...report,
      violations,
      seed: options.seed,
      durationMs: options.durationMs,
      created: created.length,
      faults,
      crashes,
    };
  } finally {
    for (const instance of all()) {
      killed.add(instance);
      await instance.stop();
    }
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await environment.cleanUp();
  }
}

export function formatReport(report: ChaosReport): string {
  const rows: [string, string | number][] = [
    ['seed', report.seed],
    ['duration', `${report.durationMs / 1000} s`],
    ['users created (201)', report.created],
    ['users checked', report.users],
    ...faultKinds.map((kind): [string, number] => [`faults: ${kind}`, report.faults[kind]]),
    ['faults in all', Object.values(report.faults).reduce((sum, count) => sum + count, 0)],
    ['users with exactly one card', report.withExactlyOneCard],
    ['lost', report.lost],
    ['doubled', report.doubled],
    ['dead-lettered', report.deadLettered],
    ['crashes', report.crashes.length],
    ['time to drain', `${(report.drainMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, value]) => `| ${name.padEnd(width)} | ${String(value).padStart(10)} |`);
  const rule = `|${'-'.repeat(width + 2)}|${'-'.repeat(12)}|`;
  return [`| ${'measure'.padEnd(width)} | ${'value'.padStart(10)} |`, rule, ...lines].join('\n');
}
