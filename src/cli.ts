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
      // TODO(wiring): start the proxy here, e.g.
      //   const { startProxy } = require('./proxy') as typeof import('./proxy');
      //   startProxy(config, { logger }) ... and handle SIGINT/SIGTERM (graceful shutdown, spec 2.9).
      // Until then:
      // ---------------------------------------------------------------------------------------
      process.stderr.write('proxy not yet implemented\n');
      logger.flush();
      process.exitCode = 1;
      return;
    }
  }
}

main();
