import { BcryptWorkerPool, PasswordHashingBusyError } from './password-hasher';

describe('BcryptWorkerPool', () => {
  let pool: BcryptWorkerPool;
  afterEach(() => pool.close());

  it('hashes at cost 10 and matches hashes made elsewhere ($2a$, as Go and cscli write them)', async () => {
    pool = new BcryptWorkerPool({ maxQueued: 10 });
    const hash = await pool.hash('a-password');
    expect(hash).toMatch(/^\$2[ab]\$10\$.{53}$/);
    expect(await pool.matches('a-password', hash)).toBe(true);
    expect(await pool.matches('another', hash)).toBe(false);
    // OpenBSD's bcrypt test vector.
    expect(await pool.matches('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW')).toBe(true);
    // A machine created by a certificate login has no hash: nothing matches it.
    expect(await pool.matches('a-password', '')).toBe(false);
  });

  it('refuses at once past its queue, and serves the next ones when it has room', async () => {
    pool = new BcryptWorkerPool({ threads: 1, maxQueued: 1 });
    const running = pool.hash('one');
    const queued = pool.hash('two');
    await expect(pool.hash('three')).rejects.toBeInstanceOf(PasswordHashingBusyError);
    await expect(Promise.all([running, queued])).resolves.toHaveLength(2);
    expect(await pool.matches('one', await running)).toBe(true);
  });
});
