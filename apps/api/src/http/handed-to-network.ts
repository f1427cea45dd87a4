import type { ServerResponse } from 'node:http';

/**
 * Resolves true once the whole response is written to the socket (the kernel delivers it even if this process
 * dies next), false if the connection failed first. Call it before sending. Node emits 'finish' even when the
 * last write failed on a reset connection, hence the check of the socket's error.
 */
export function handedToNetwork(res: ServerResponse): Promise<boolean> {
  const socket = res.socket;
  return new Promise((resolve) => {
    res.once('finish', () => resolve(!socket?.errored));
    res.once('close', () => resolve(res.writableFinished && !socket?.errored));
  });
}
