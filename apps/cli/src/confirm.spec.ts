import { PassThrough } from 'node:stream';
import { AdminError } from './admin-client';
import { confirm, type PromptStreams } from './confirm';

function tty(answer: string | null): PromptStreams & { asked: () => string } {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let asked = '';
  output.on('data', (c: Buffer) => (asked += c.toString()));
  setImmediate(() => (answer === null ? input.end() : input.write(`${answer}\n`)));
  return { input, output, asked: () => asked };
}

describe('confirm', () => {
  it('goes on when the answer is y or yes', async () => {
    for (const answer of ['y', 'YES', ' yes ']) {
      const streams = tty(answer);
      await expect(confirm('Delete 3 bouncers?', {}, streams)).resolves.toBeUndefined();
      expect(streams.asked()).toBe('Delete 3 bouncers? [y/N] ');
    }
  });

  it('aborts on anything else, or on end of input', async () => {
    for (const answer of ['', 'n', 'maybe', null]) {
      await expect(confirm('Delete?', {}, tty(answer))).rejects.toEqual(
        new AdminError('ABORTED', 'aborted: nothing was changed'),
      );
    }
  });

  it('asks nothing with --yes or without a terminal', async () => {
    const streams = tty('n');
    await expect(confirm('Delete?', { yes: true }, streams)).resolves.toBeUndefined();
    const script = { input: new PassThrough(), output: new PassThrough() };
    await expect(confirm('Delete?', {}, script)).resolves.toBeUndefined();
    expect(streams.asked()).toBe('');
  });
});
