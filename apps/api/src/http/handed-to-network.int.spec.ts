import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { handedToNetwork } from './handed-to-network';

describe('handedToNetwork', () => {
  let server: Server;
  let port: number;
  let outcome: Promise<boolean> | undefined;
  let body: Buffer;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      outcome = handedToNetwork(res);
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('is true once a response is written', async () => {
    body = Buffer.from('{"new":null,"deleted":null}');
    const text = await new Promise<string>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/' }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
      })
        .on('error', reject)
        .end();
    });
    expect(text).toBe('{"new":null,"deleted":null}');
    expect(await outcome).toBe(true);
  });

  it('is false when the client goes away before the response could be written', async () => {
    // Larger than what the socket buffers hold while nobody reads: the write cannot finish before the reset.
    body = Buffer.alloc(64 * 1024 * 1024, 'x');
    outcome = undefined;
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    while (outcome === undefined) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    socket.resetAndDestroy();
    expect(await (outcome as Promise<boolean> | undefined)).toBe(false);
  });
});
