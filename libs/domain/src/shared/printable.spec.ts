import { printable } from './printable';

describe('printable', () => {
  it('shows control characters escaped and leaves other text alone', () => {
    expect(printable('\u001b[32mfake\u001b[0m')).toBe('\\x1b[32mfake\\x1b[0m');
    expect(printable('a\r\nb\tc\u0000\u007f\u009b')).toBe('a\\r\\nb\\tc\\x00\\x7f\\x9b');
    expect(printable('abc\u202eexe.txt')).toBe('abc\\u202eexe.txt');
    expect(printable('agent-1 ✔️ é 😀')).toBe('agent-1 ✔️ é 😀');
  });
});
