// A local stand-in for Astra, for tests: a secure connect bundle writer (zip), an HTTPS metadata service with
// mutual TLS answering Astra's JSON shape, and an SNI-routing TLS endpoint (mutual TLS) that sends each
// connection to the node whose host id is the SNI name (plain TCP or TLS to the node).
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { crc32, deflateRawSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';

/** A zip of deflated entries (what the proxy's reader must handle). */
export function writeZip(path: string, files: Record<string, Buffer | string>): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const packed = deflateRawSync(data);
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, packed);
    centrals.push(central, n);
    offset += 30 + n.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...locals, cd, end]));
}

export interface ServerTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

const serverOptions = (f: ServerTlsFiles): tls.TlsOptions => ({
  ca: readFileSync(f.ca),
  cert: readFileSync(f.cert),
  key: readFileSync(f.key),
  requestCert: true,
  rejectUnauthorized: true,
});

export interface MetadataService {
  readonly port: number;
  /** number of GET /metadata answered */
  calls: number;
  /** the answer (Astra's shape); change it to move the SNI proxy or the contact points */
  metadata: {
    version: number;
    region: string;
    contact_info: { type: string; local_dc: string; sni_proxy_address: string; contact_points: string[] };
  };
  close(): Promise<void>;
}

export async function startMetadataService(files: ServerTlsFiles, host = '127.0.0.1'): Promise<MetadataService> {
  const svc = {
    port: 0,
    calls: 0,
    metadata: {
      version: 1,
      region: 'local',
      contact_info: { type: 'sni_proxy', local_dc: '', sni_proxy_address: '', contact_points: [] as string[] },
    },
    close: (): Promise<void> => new Promise<void>((r) => server.close(() => r())),
  };
  const server = https.createServer(serverOptions(files), (req, res) => {
    if (req.method === 'GET' && req.url === '/metadata') {
      svc.calls++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(svc.metadata));
    } else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  svc.port = (server.address() as net.AddressInfo).port;
  return svc;
}

export interface SniProxy {
  readonly port: number;
  /** SNI names seen, in order */
  readonly servernames: string[];
  close(): Promise<void>;
}

/** Routes each TLS connection by its SNI name (a host id) to `routes[name]`, connecting there with `upstream(name)`. */
export async function startSniProxy(
  files: ServerTlsFiles,
  routes: Record<string, { host: string; port: number; tls?: tls.ConnectionOptions }>,
  host = '127.0.0.1',
): Promise<SniProxy> {
  const servernames: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(serverOptions(files), (client) => {
    const name = client.servername || '';
    servernames.push(name);
    const to = routes[name];
    if (!to) return void client.destroy();
    const node: net.Socket = to.tls
      ? tls.connect({ ...to.tls, host: to.host, port: to.port })
      : net.connect({ host: to.host, port: to.port });
    for (const s of [client, node]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (sockets.delete(s), client.destroy(), node.destroy()));
    }
    client.pipe(node);
    node.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    servernames,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
