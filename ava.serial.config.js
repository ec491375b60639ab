// The serial run: scenario tests that stop, restart or block RabbitMQ or PostgreSQL, one at a time.
export default {
  files: ['test/scenarios/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  serial: true,
  concurrency: 1,
  timeout: '5m',
  workerThreads: false,
};
