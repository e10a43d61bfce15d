#!/usr/bin/env node
// Process entry point (bin `zdm-proxy`). Flags and configuration: src/config/cli.ts.
import { runCli, packageVersion } from './config/cli';
import { describeConfig } from './config/load';
import { createLogger } from './observability/logger';

function main(): void {
  const result = runCli(process.argv.slice(2), process.env);
  switch (result.kind) {
    case 'help':
      process.stdout.write(result.text);
      process.exitCode = 0;
      return;
    case 'version':
      process.stdout.write(`${result.text}\n`);
      process.exitCode = 0;
      return;
    case 'error':
      // Upstream: `Error loading configuration: <err>. Aborting startup.` then os.Exit(-1) (status 255).
      process.stderr.write(`${result.message}\n`);
      process.exitCode = result.exitCode;
      return;
    case 'run': {
      const config = result.config;
      const logger = createLogger(config.logLevel);
      logger.info(`Starting ZDM proxy version ${packageVersion()}`);
      logger.info({ config: describeConfig(config) }, 'Parsed configuration');
      // ---------------------------------------------------------------------------------------
      // Wiring: start the proxy; SIGINT/SIGTERM -> graceful shutdown (spec 2.9) -> exit 0.
      // ---------------------------------------------------------------------------------------
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startProxy } = require('./proxy') as typeof import('./proxy');
      const abort = new AbortController();
      let running: import('./proxy').RunningProxy | undefined;
      let stopping = false;
      const onSignal = (sig: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info(`Received ${sig}, shutting down.`);
        abort.abort();
        const done = (): void => {
          logger.flush();
          process.exit(0);
        };
        if (running) running.close().then(done, done);
        else done();
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      startProxy(config, { logger, signal: abort.signal }).then(
        (p) => {
          running = p;
          if (stopping) void p.close().then(() => process.exit(0));
        },
        (e: unknown) => {
          if (stopping) return;
          logger.error(`Proxy could not start: ${(e as Error).message}`);
          logger.flush();
          process.exit(1);
        },
      );
      return;
    }
  }
}

main();
