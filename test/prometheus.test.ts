/**
 * The alerting and recording rules of deploy/prometheus/, as Prometheus itself reads them: `promtool check rules`
 * and `promtool test rules` (each alert fires on its series, at its `for`), then a real Prometheus on loopback
 * scraping a running card service: the target is up, the series are there, a paused consumer makes
 * AckstateConsumerPaused and AckstateConsumerPausedLong pending and its recovery clears them, and a poison
 * message fires AckstateDeadLetters.
 * Prometheus and promtool come from Debian's `prometheus` package (.ci/run installs it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { publishRaw } from './support/broker.js';
import { createTestEnvironment } from './support/environment.js';
import { freePort, repoRoot, startService } from './support/service-process.js';
import { startTcpProxy, throughProxy } from './support/tcp-proxy.js';
import { waitUntil } from './support/wait.js';

const run = promisify(execFile);
const rulesDir = path.join(repoRoot, 'deploy', 'prometheus');
const ruleFiles = ['ackstate-alerts.yml', 'ackstate-recording.yml'].map((file) => path.join(rulesDir, file));
const installHint = 'apt-get install -y prometheus (Debian package; .ci/run installs it)';

test('promtool accepts the rule files, and each alert fires when its unit test says', async (t) => {
  t.true(existsSync('/usr/bin/promtool'), `/usr/bin/promtool is missing: ${installHint}`);
  const checked = await run('promtool', ['check', 'rules', ...ruleFiles]);
  t.regex(checked.stdout, /SUCCESS: 17 rules found[\s\S]*SUCCESS: 3 rules found/);
  const tested = await run('promtool', ['test', 'rules', 'tests/ackstate-alerts.test.yml'], { cwd: rulesDir });
  t.regex(tested.stdout + tested.stderr, /SUCCESS/);
});

interface PrometheusAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing';
}

async function startPrometheus(target: string, workDir: string) {
  const port = await freePort();
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: [${ruleFiles.map((file) => JSON.stringify(file)).join(', ')}]`,
    'scrape_configs:',
    `  - { job_name: ackstate, static_configs: [{ targets: ['${target}'] }] }`,
  ].join('\n');
  await writeFile(path.join(workDir, 'prometheus.yml'), `${config}\n`);
  const child: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${path.join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const api = async <T>(route: string): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/${route}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`${route}: ${JSON.stringify(body)}`);
    return body.data;
  };
  return { child, api, stderr };
}

test('a real Prometheus scrapes the service and sees its alerts go pending, fire and clear', async (t) => {
  t.timeout(5 * 60_000);
  t.true(existsSync('/usr/bin/prometheus'), `/usr/bin/prometheus is missing: ${installHint}`);
  const environment = createTestEnvironment('prometheus');
  const database = new URL(environment.cardDbUrl);
  const databaseProxy = await startTcpProxy(Number(database.port || 5432), database.hostname);
  const workDir = await mkdtemp(path.join(tmpdir(), 'ackstate-prometheus-'));
  const started: { prometheus?: ChildProcess } = {};
  t.teardown(async () => {
    const child = started.prometheus;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await databaseProxy.close();
    await environment.cleanUp();
    await rm(workDir, { recursive: true, force: true });
  });
  const service = await startService(
    { ...environment.env, CARD_DB_URL: throughProxy(environment.cardDbUrl, databaseProxy) },
    'card',
  );
  t.teardown(() => service.stop());
  const prometheus = await startPrometheus(`127.0.0.1:${service.port}`, workDir);
  started.prometheus = prometheus.child;
  const { api } = prometheus;
  const patience = { timeoutMs: 90_000, intervalMs: 500 };

  await waitUntil(
    async () => {
      const { activeTargets } = await api<{ activeTargets: { health: string }[] }>('targets').catch(() => ({
        activeTargets: [],
      }));
      return activeTargets.some((target) => target.health === 'up');
    },
    { ...patience, what: () => `the target up in Prometheus; its log: ${prometheus.stderr.join('')}` },
  );
  const consuming = await waitUntil(
    async () => {
      const { result } = await api<{ result: { value: [number, string] }[] }>(
        `query?query=${encodeURIComponent('ackstate_actor_state{actor="consumer:card",state="consuming"}')}`,
      );
      return result[0]?.value[1] === '1' ? result : undefined;
    },
    { ...patience, what: 'the consumer consuming, in the series Prometheus scraped' },
  );
  t.is(consuming.length, 1);

  const alerts = async () => (await api<{ alerts: PrometheusAlert[] }>('alerts')).alerts;
  const alertState = async (name: string) => (await alerts()).find((alert) => alert.labels.alertname === name)?.state;

  // The database link cut while a message arrives: the consumer pauses and the alerts go pending (their `for` is 5m).
  databaseProxy.cut();
  const userId = randomUUID();
  const user = { id: userId, name: 'Paused', email: `${userId}@example.com`, created_at: new Date().toISOString() };
  await publishRaw(environment.userQueue, [JSON.stringify(user)]);
  await waitUntil(async () => (await alertState('AckstateConsumerPaused')) === 'pending', {
    ...patience,
    what: async () => `AckstateConsumerPaused pending; alerts: ${JSON.stringify(await alerts())}`,
  });
  const pending = (await alerts()).find((alert) => alert.labels.alertname === 'AckstateConsumerPaused');
  t.like(pending?.labels, { actor: 'consumer:card', state: 'paused', severity: 'critical' });
  await waitUntil(async () => (await alertState('AckstateConsumerPausedLong')) === 'pending', {
    ...patience,
    what: async () => `AckstateConsumerPausedLong pending; alerts: ${JSON.stringify(await alerts())}`,
  });
  const pendingLong = (await alerts()).find((alert) => alert.labels.alertname === 'AckstateConsumerPausedLong');
  const { userQueue } = environment;
  t.like(pendingLong?.labels, { service: 'card', consumer: userQueue, queue: userQueue, severity: 'critical' });

  // Recovery clears them.
  databaseProxy.restore();
  for (const name of ['AckstateConsumerPaused', 'AckstateConsumerPausedLong']) {
    await waitUntil(async () => (await alertState(name)) === undefined, {
      ...patience,
      what: async () => `${name} cleared; alerts: ${JSON.stringify(await alerts())}`,
    });
  }

  // A poison message is dead-lettered: AckstateDeadLetters fires at once (it has no `for`).
  await publishRaw(environment.userQueue, ['not json']);
  await waitUntil(async () => (await alertState('AckstateDeadLetters')) === 'firing', {
    ...patience,
    what: async () => `AckstateDeadLetters firing; alerts: ${JSON.stringify(await alerts())}`,
  });
  const deadLetters = (await alerts()).find((alert) => alert.labels.alertname === 'AckstateDeadLetters');
  t.is(deadLetters?.labels.queue, environment.userQueue);
});
