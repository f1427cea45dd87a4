import type { AppConfig } from '@lapi/config';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The configured secret, or in embedded mode one generated on first start and kept in the data directory,
 * so tokens survive a restart (the reference makes a new one per start and every client must log in again).
 */
export function resolveJwtSecret(config: AppConfig): string {
  if (config.jwtSecret) {
    return config.jwtSecret;
  }
  if (config.database.kind !== 'embedded') {
    throw new Error('CS_LAPI_SECRET is required with DATABASE_URL'); // loadConfig already refuses this
  }
  const dir = resolve(config.dataDir);
  const file = join(dir, 'jwt-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (Buffer.byteLength(secret) >= 64) {
      return secret;
    }
  }
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(64).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}
