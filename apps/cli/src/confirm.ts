import { createInterface } from 'node:readline';
import { AdminError } from './admin-client';

/** Where a prompt is asked and answered: the terminal's stdin and stderr (stdout stays the command's output). */
export interface PromptStreams {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

const terminal: PromptStreams = { input: process.stdin, output: process.stderr };

/**
 * Asks before a destructive command changes anything, as cscli does: `--yes` skips the question, and so does a run
 * without a terminal on stdin (a script already said what it wants, and nobody could answer). Anything but y/yes
 * aborts: AdminError ABORTED, nothing changed, exit status 1.
 */
export async function confirm(
  question: string,
  opts: { yes?: boolean },
  streams: PromptStreams = terminal,
): Promise<void> {
  if (opts.yes === true || streams.input.isTTY !== true) {
    return;
  }
  const rl = createInterface({ input: streams.input, output: streams.output, terminal: false });
  const answer = await new Promise<string>((resolve) => {
    streams.output.write(`${question} [y/N] `);
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (!/^\s*y(es)?\s*$/i.test(answer)) {
    throw new AdminError('ABORTED', 'aborted: nothing was changed');
  }
}
