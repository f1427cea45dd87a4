import { loadConfig } from '@lapi/config';
import { adminSocketPath } from '@lapi/event-store';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sendAdminRequest } from '../../../cli/src/admin-client';
import { startTestApi, type TestApi } from '../../test/api-harness';
import { startAdminSocket } from './admin-socket';

describe('the admin socket', () => {
  let t: TestApi;
  let dataDir: string;

  beforeAll(async () => {
    t = await startTestApi('pglite');
  });
  afterAll(async () => {
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is created in a directory only its owner may enter, made so before it listens; lapi finds it there', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lapi-admin-socket-'));
    chmodSync(dataDir, 0o755);
    const socketDir = dirname(adminSocketPath(dataDir));
    mkdirSync(socketDir, { recursive: true });
    chmodSync(socketDir, 0o777); // left open by an earlier install, say

    // The socket file exists from listen() on, with the umask's mode until a chmod: check what guards it then.
    const atListen: { path: string; mode: number; uid: number }[] = [];
    const original = Server.prototype.listen;
    const listen = jest.spyOn(Server.prototype, 'listen').mockImplementation(function (
      this: Server,
      ...args: unknown[]
    ) {
      if (typeof args[0] === 'string') {
        const stats = lstatSync(dirname(args[0]));
        atListen.push({ path: args[0], mode: stats.mode & 0o777, uid: stats.uid });
      }
      return original.apply(this, args as Parameters<typeof original>);
    });
    const admin = await startAdminSocket(t.api.app, dataDir).finally(() => listen.mockRestore());
    try {
      expect(atListen).toEqual([{ path: adminSocketPath(dataDir), mode: 0o700, uid: process.geteuid?.() }]);

      const config = loadConfig({ LAPI_DATA_DIR: dataDir });
      const { via } = await sendAdminRequest(config, { op: 'machines.list' });
      expect(via).toBe('server');
    } finally {
      await admin.close();
    }
  });
});
