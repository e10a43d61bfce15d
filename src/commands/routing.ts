// `zdm-proxy routing get|set`: read or change the routing of every proxy instance through its admin API
// (GET/POST /api/v1/routing on the metrics port), verify each instance, report which did not take it.
import { type CommandIo, parseSubcommand } from './subcommand';
import http from 'node:http';

export type { CommandIo } from './subcommand';

export const ROUTING_USAGE = [
  'Usage: zdm-proxy routing get --instances host:port[,host:port...]',
  '       zdm-proxy routing set [--primary ORIGIN|TARGET] [--read-mode PRIMARY_ONLY|DUAL_ASYNC_ON_SECONDARY]',
  '                             --instances host:port[,...] [--token TOKEN]',
  '',
  '  --instances   metrics/admin endpoints (metrics_address:metrics_port) of every proxy instance',
  '  --token       the admin_token of the instances (default: $ZDM_ADMIN_TOKEN)',
  '  --timeout-ms  per-request timeout (default 5000)',
  '`set` applies the change to every instance, reads each one back and exits 1 if any did not take it.',
  '',
].join('\n');

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function request(instance: string, method: 'GET' | 'POST', timeoutMs: number, body?: string, token?: string): Promise<Reply> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(instance);
  if (!m) return Promise.reject(new Error(`invalid instance ${JSON.stringify(instance)}: expected host:port`));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = `Bearer ${token}`;
    const req = http.request(
      { host: m[1], port: Number(m[2]), path: '/api/v1/routing', method, headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { error: text.trim() };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const errorOf = (r: Reply): string => `HTTP ${r.status}: ${String(r.body['error'] ?? JSON.stringify(r.body))}`;

/** Runs the command; resolves the exit status. */
export async function runRoutingCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseSubcommand(
    argv,
    {
      primary: { type: 'string' },
      'read-mode': { type: 'string' },
      instances: { type: 'string' },
      token: { type: 'string' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean' },
    } as const,
    'routing',
    ['get', 'set'],
    ROUTING_USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { action, values } = parsed;
  const instances = (values.instances ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (instances.length === 0) {
    io.err(`--instances is required (the metrics_address:metrics_port of every proxy instance)\n${ROUTING_USAGE}`);
    return 2;
  }
  const timeoutMs = values['timeout-ms'] !== undefined ? Number(values['timeout-ms']) : 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    io.err(`invalid --timeout-ms ${JSON.stringify(values['timeout-ms'])}: expected a positive integer`);
    return 2;
  }

  if (action === 'get') {
    let failed = 0;
    await Promise.all(
      instances.map(async (inst) => {
        try {
          const r = await request(inst, 'GET', timeoutMs);
          if (r.status !== 200) throw new Error(errorOf(r));
          const b = r.body;
          io.out(
            `${inst}  primary_cluster=${String(b['primary_cluster'])} read_mode=${String(b['read_mode'])} source=${String(b['source'])}\n`,
          );
        } catch (e) {
          failed++;
          io.out(`${inst}  UNREACHABLE: ${(e as Error).message}\n`);
        }
      }),
    );
    return failed > 0 ? 1 : 0;
  }

  const patch: Record<string, string> = {};
  if (values.primary !== undefined) patch['primary_cluster'] = values.primary.toUpperCase();
  if (values['read-mode'] !== undefined) patch['read_mode'] = values['read-mode'].toUpperCase();
  if (Object.keys(patch).length === 0) {
    io.err(`routing set: give --primary and/or --read-mode\n${ROUTING_USAGE}`);
    return 2;
  }
  if (patch['primary_cluster'] !== undefined && !['ORIGIN', 'TARGET'].includes(patch['primary_cluster'])) {
    io.err(`invalid --primary ${JSON.stringify(values.primary)}: expected ORIGIN or TARGET`);
    return 2;
  }
  if (patch['read_mode'] !== undefined && !['PRIMARY_ONLY', 'DUAL_ASYNC_ON_SECONDARY'].includes(patch['read_mode'])) {
    io.err(`invalid --read-mode ${JSON.stringify(values['read-mode'])}: expected PRIMARY_ONLY or DUAL_ASYNC_ON_SECONDARY`);
    return 2;
  }
  const token = values.token ?? io.env['ZDM_ADMIN_TOKEN'] ?? '';
  if (!token) {
    io.err('routing set needs the admin token: --token or $ZDM_ADMIN_TOKEN');
    return 2;
  }
  const body = JSON.stringify(patch);
  const results = await Promise.all(
    instances.map(async (inst): Promise<string | undefined> => {
      try {
        const r = await request(inst, 'POST', timeoutMs, body, token);
        if (r.status !== 200) return errorOf(r);
        // verify: read the state back
        const g = await request(inst, 'GET', timeoutMs);
        if (g.status !== 200) return `verification failed: ${errorOf(g)}`;
        for (const [k, v] of Object.entries(patch)) {
          if (g.body[k] !== v) return `verification failed: ${k} is ${String(g.body[k])}, expected ${v}`;
        }
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    }),
  );
  let failed = 0;
  instances.forEach((inst, i) => {
    const problem = results[i];
    if (problem === undefined)
      io.out(
        `${inst}  OK  ${Object.entries(patch)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}\n`,
      );
    else {
      failed++;
      io.out(`${inst}  FAILED: ${problem}\n`);
    }
  });
  io.out(`${instances.length - failed} of ${instances.length} instance(s) took the change.\n`);
  if (failed > 0)
    io.err(`${failed} instance(s) did not take the change: ${instances.filter((_, i) => results[i] !== undefined).join(', ')}\n`);
  return failed > 0 ? 1 : 0;
}
