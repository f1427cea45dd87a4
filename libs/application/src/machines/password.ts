import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';

// The reference hashes machine passwords with bcrypt cost 10 ($2a$10$…).
const BCRYPT_COST = 10;

export const hashPassword = (password: string): Promise<string> => bcrypt.hash(password, BCRYPT_COST);

export const passwordMatches = (password: string, hash: string): Promise<boolean> => bcrypt.compare(password, hash);

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 64 random letters and digits, the length `cscli machines add --auto` and `lapi register` use. */
export function generatePassword(length = 64): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  // Rejection sampling keeps every character equally likely.
  for (const b of bytes) {
    if (b < 248 && out.length < length) {
      out += ALPHABET[b % ALPHABET.length];
    }
  }
  return out.length === length ? out : generatePassword(length);
}
