/**
 * `npm run chaos [-- --seed N --duration S --rate U --gap S --instances I]`: a chaos run against the local
 * RabbitMQ and PostgreSQL. Prints each fault as it is injected and a summary table; exits 0 only when
 * nothing was lost or doubled and every invariant holds.
 */
import { parseArgs } from 'node:util';
import { formatReport, runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Math.floor(Math.random() * 1_000_000)) },
    duration: { type: 'string', default: '60' },
    rate: { type: 'string', default: '10' },
    gap: { type: 'string', default: '5' },
    instances: { type: 'string', default: '2' },
  },
});

const number = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`chaos: --${name} must be a positive number, got "${values[name]}"`);
    process.exit(2);
  }
  return value;
};

const options = {
  seed: Math.floor(number('seed')),
  durationMs: number('duration') * 1_000,
  usersPerSecond: number('rate'),
  meanGapMs: number('gap') * 1_000,
  instances: Math.floor(number('instances')),
  log: (line: string) => console.log(line),
};
console.log(
  `chaos: seed ${options.seed}, ${options.durationMs / 1000} s, ${options.usersPerSecond} users/s, ${options.instances} instances of each service`,
);
const report = await runChaos(options);
console.log(`\n${formatReport(report)}\n`);
if (report.violations.length > 0) {
  console.log('violations:');
  for (const violation of report.violations) console.log(`- ${violation}`);
}
process.exit(report.violations.length === 0 && report.lost === 0 && report.doubled === 0 ? 0 : 1);
