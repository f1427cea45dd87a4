/**
 * Whether PostgreSQL can hold this text: it refuses NUL characters in text and lone UTF-16 surrogates in jsonb.
 * Client text that is not is refused as bad input, not left to fail at the database with a 500.
 */
export const storableText = (text: string): boolean => !text.includes('\u0000') && text.isWellFormed();
