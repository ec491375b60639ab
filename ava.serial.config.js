// The serial run, one file at a time: scenario tests that stop, restart or block RabbitMQ or PostgreSQL,
// the outage tests (test/outages/), which stop nothing shared but last minutes and measure CPU, and the
// distributed-fault tests (test/distributed/), which make clusters of their own (RabbitMQ nodes in network
// namespaces, PostgreSQL primaries and standbys) and fail them.
export default {
  files: ['test/scenarios/**/*.test.ts', 'test/outages/**/*.test.ts', 'test/distributed/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  serial: true,
  concurrency: 1,
  timeout: '5m',
  workerThreads: false,
};
