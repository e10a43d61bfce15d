#!/usr/bin/env node
// Process entry point (bin `zdm-proxy`). Flags and configuration: src/config/cli.ts.
import { runCli, packageVersion } from './config/cli';
import { describeConfig } from './config/load';
import { defaultLogFormat } from './observability/log-format';
import { createLogger } from './observability/logger';

function main(): void {
  const argv = process.argv.slice(2);
  // Sub-commands (extension): `zdm-proxy routing ...` talks to running instances.
  if (argv[0] === 'routing') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runRoutingCommand } = require('./commands/routing') as typeof import('./commands/routing');
    const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s), env: process.env };
    runRoutingCommand(argv.slice(1), io).then(
      (code) => (process.exitCode = code),
      (e: unknown) => {
        process.stderr.write(`routing: ${(e as Error).message}\n`);
        process.exitCode = 1;
      },
    );
    return;
  }
  if (argv[0] === 'journal') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runJournalCommand } = require('./commands/journal') as typeof import('./commands/journal');
    const io = {
      out: (s: string) => process.stdout.write(s),
      err: (s: string) => process.stderr.write(s),
      env: process.env,
      tty: process.stderr.isTTY ? { write: (s: string) => process.stderr.write(s), columns: process.stderr.columns } : undefined,
    };
    runJournalCommand(argv.slice(1), io).then(
      (code) => (process.exitCode = code),
      (e: unknown) => {
        process.stderr.write(`journal: ${(e as Error).message}\n`);
        process.exitCode = 1;
      },
    );
    return;
  }
  const result = runCli(argv, process.env);
  switch (result.kind) {
    case 'help':
    case 'example-config':
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
      const format = result.logFormat ?? defaultLogFormat(process.stdout);
      const logger = createLogger(config.logLevel, { format, color: format === 'text' && process.stdout.isTTY === true });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cluster = require('node:cluster') as typeof import('node:cluster').default;
      if (!cluster.isWorker) {
        // once per proxy (a worker of proxy_workers runs the same command: the primary logged these lines)
        logger.info(`Starting ZDM proxy version ${packageVersion()}`);
        logger.info({ config: describeConfig(config) }, 'Parsed configuration');
      }
      // ---------------------------------------------------------------------------------------
      // Wiring: start the proxy; SIGINT/SIGTERM -> graceful shutdown (upstream-spec-notes 2.9) -> exit 0; a second one -> exit now.
      // ---------------------------------------------------------------------------------------
      let observability: { close(): Promise<void> } | undefined;
      const exit = (code: number): void => {
        const end = (): void => {
          logger.flush();
          process.exit(code);
        };
        // the HTTP server goes last (upstream-spec-notes 2.9 item 4)
        if (observability) observability.close().then(end, end);
        else end();
      };
      // Process faults (issue 12): one JSON log line with the stack, then a non-zero exit so that a supervisor
      // restarts the proxy (instead of a bare trace on stderr, or carrying on in an unknown state).
      const fatal = (kind: string, e: unknown): void => {
        const err = e instanceof Error ? e : new Error(String(e));
        try {
          logger.fatal({ err, kind }, `${kind}: ${err.message}; exiting`);
          logger.flush();
        } finally {
          process.exit(70); // EX_SOFTWARE
        }
      };
      process.on('uncaughtException', (e) => fatal('uncaught exception', e));
      process.on('unhandledRejection', (e) => fatal('unhandled promise rejection', e));
      if (config.workers > 1 && cluster.isWorker) {
        // one worker process of proxy_workers (src/workers/worker.ts): signals and shutdown come from the primary;
        // a worker that exits on a fault (70, above) is restarted by the primary
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require('./workers/worker') as typeof import('./workers/worker')).runWorker(config, logger, exit);
        return;
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startProxy, startObservabilityServer } = require('./proxy') as typeof import('./proxy');
      const abort = new AbortController();
      let running: { close(): Promise<void>; reloadTls(): boolean } | undefined;
      let stopping = false;
      const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
      const onSignal = (sig: string): void => {
        if (stopping) {
          // a second SIGINT/SIGTERM during the graceful drain: exit now
          logger.warn(`Received ${sig} again during the shutdown: exiting now without waiting for in-flight requests.`);
          logger.flush();
          process.exit(SIGNAL_EXIT[sig] ?? 1);
        }
        stopping = true;
        logger.info(`Received ${sig}, shutting down.`);
        abort.abort();
        if (running)
          running.close().then(
            () => exit(0),
            () => exit(0),
          );
        else exit(0);
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      // SIGHUP: reload the client-facing TLS certificates (new connections get them; open ones keep theirs)
      process.on('SIGHUP', () => {
        logger.info('Received SIGHUP, reloading TLS certificates.');
        if (running) running.reloadTls();
        else logger.warn('The proxy is not started yet: nothing to reload.');
      });
      if (config.workers > 1) {
        // proxy_workers > 1 (extension): the primary process forks workers that serve the clients (src/workers/).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { startPrimary } = require('./workers/primary') as typeof import('./workers/primary');
        startPrimary(config, logger).then(
          (p) => {
            observability = { close: () => p.closeHttp() };
            process.on('exit', () => p.kill()); // a forced exit takes the workers with it
            running = p;
            if (stopping) void p.close().then(() => exit(0));
            void p.failed.then((e) => {
              if (stopping) return;
              stopping = true;
              logger.error(`Proxy could not start: ${e.message}`);
              p.close().then(
                () => exit(1),
                () => exit(1),
              );
            });
          },
          (e: unknown) => {
            logger.error(`Proxy could not start: ${(e as Error).message}`);
            exit(1);
          },
        );
        return;
      }
      // The metrics/health HTTP server starts first: readiness answers STARTUP during the startup retries.
      startObservabilityServer(config, logger)
        .then((obs) => {
          observability = obs;
          if (stopping) return undefined;
          return startProxy(config, { logger, signal: abort.signal, observability: obs });
        })
        .then(
          (p) => {
            if (!p) return;
            running = p;
            if (stopping) void p.close().then(() => exit(0));
          },
          (e: unknown) => {
            if (stopping) return;
            logger.error(`Proxy could not start: ${(e as Error).message}`);
            exit(1);
          },
        );
      return;
    }
  }
}

main();
