import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server, whose connections a test can cut, freeze
 * or refuse: a faithful network drop, not a mocked error. Listens on 127.0.0.1.
 */
export interface CuttingProxy {
  url: string;
  /** Destroys every open connection, both ways, as a network change does. */
  cut(): void;
  /** Stops passing the server's bytes on the open connections, without closing them (a dead network). */
  freeze(): void;
  /** While true, new connections are closed at once (the Worker is unreachable). */
  refuse: boolean;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[client: Socket, upstream: Socket]>();
  let connections = 0;
  const proxy = {
    refuse: false,
    get connections() {
      return connections;
    },
  } as CuttingProxy;

  const server = createServer((client) => {
    connections++;
    if (proxy.refuse) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = createConnection({ host: hostname, port: Number(port) });
    upstream.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  proxy.cut = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  proxy.freeze = () => {
    for (const [client, upstream] of pairs) upstream.unpipe(client);
  };
  proxy.close = async () => {
    proxy.cut();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
