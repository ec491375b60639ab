// The parallel run: everything that does not stop, restart or block a shared service, nor lasts minutes.
export default {
  files: ['test/**/*.test.ts', 'src/**/*.test.ts', '!test/scenarios/**', '!test/outages/**', '!test/distributed/**'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '2m',
  workerThreads: false,
};
