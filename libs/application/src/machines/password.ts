import { randomBytes } from 'node:crypto';

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
