import type { Server } from 'node:http';

const IDLE_CHECK_MS = 50;

/**
 * Stops accepting connections and resolves once every open one has ended. server.close() ends only the connections
 * idle at that moment; a keep-alive connection whose request was in flight would stay open until the client drops
 * it (Go's clients: after 90 s idle), so each is closed as soon as its answer went out.
 */
export function drainHttp(server: Server): Promise<void> {
  if (!server.listening) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), IDLE_CHECK_MS);
    server.close(() => {
      clearInterval(idle);
      resolve();
    });
  });
}
