// C0 and C1 controls, DEL, and the Unicode bidirectional overrides: what can move a terminal's cursor, recolour
// it, or reorder what it shows.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text a client chose (a machine name, a user agent…) made safe to print to a terminal or a text log: each control
 * character as a visible escape, `\x1b`, `\n`, `\u202e`.
 */
export const printable = (text: string): string =>
  text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') {
      return '\\n';
    }
    if (c === '\r') {
      return '\\r';
    }
    if (c === '\t') {
      return '\\t';
    }
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
