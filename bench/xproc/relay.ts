// A plain TCP byte relay (its own process) for the cross-process benchmark: the floor the proxy is compared with.
//   node dist/bench/xproc/relay.js '{"listenHost":"127.0.0.1","targetHost":"127.0.0.1","targetPort":9042}'
// Prints {"ready":true,"port":N}.
import * as net from 'node:net';

const o = JSON.parse(process.argv[2] ?? '{}') as { listenHost: string; targetHost: string; targetPort: number };
const server = net.createServer((client) => {
  client.setNoDelay(true);
  const upstream = net.connect({ host: o.targetHost, port: o.targetPort });
  upstream.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  const end = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
});
server.listen(0, o.listenHost, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
