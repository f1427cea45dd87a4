import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Lowercase hex SHA-512 of the key: what the reference stores in bouncers.api_key. */
export const hashApiKey = (key: string): string => createHash('sha512').update(key, 'utf8').digest('hex');

/** 32 hex characters (16 random bytes), like `cscli bouncers add` in 1.4.6. */
export const generateApiKey = (): string => randomBytes(16).toString('hex');

export const sameHash = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

// The reference takes any string for `-k`; we refuse keys short enough to guess and what cannot travel in a header.
export const MIN_API_KEY_LENGTH = 16;
export const MAX_API_KEY_LENGTH = 4096;

/** Why a chosen key is unusable, or null when it is fine. */
export function apiKeyProblem(key: string): string | null {
  if (key.length < MIN_API_KEY_LENGTH || key.length > MAX_API_KEY_LENGTH) {
    return `API key must be between ${MIN_API_KEY_LENGTH} and ${MAX_API_KEY_LENGTH} characters long`;
  }
  if (!/^[\x21-\x7e]+$/.test(key)) {
    return 'API key must be printable ASCII without spaces';
  }
  return null;
}
