// Preloaded into a spawned proxy CLI (`node -r dist/test/support/fault-preload.js dist/src/cli.js`) by the process
// fault tests: SIGUSR2 makes the process fail the way a bug would, as ZDM_TEST_FAULT says: `throw` (an uncaught
// exception, the default) or `reject` (an unhandled promise rejection). Never loaded by the proxy itself.
process.on('SIGUSR2', () => {
  if (process.env['ZDM_TEST_FAULT'] === 'reject') void Promise.reject(new Error('injected rejection'));
  else throw new Error('injected exception');
});
