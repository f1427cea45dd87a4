/** Where progress goes: stderr, which is a terminal or not. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

// Without a terminal: a line at every tenth of the way, or after this long without one.
const PLAIN_EVERY_MS = 2_000;
const BAR_WIDTH = 20;

/**
 * The progress of a long command, on stderr: on a terminal one line redrawn in place (bar, percentage, count/total,
 * rate, time left); otherwise a plain line every ~10% or every 2 s, for logs.
 */
export class Progress {
  private readonly started: number;
  private lastPlainAt: number;
  private lastPlainTenth = 0;
  private drawn = false;
  private lastNote = '';

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly unit: string,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
    this.lastPlainAt = this.started;
  }

  /** `done` of the total are through; `note` says what happens next (shown on a terminal). */
  update(done: number, note = ''): void {
    const elapsed = (this.now() - this.started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const percent = this.total > 0 ? Math.floor((done * 100) / this.total) : 100;
    if (this.stream.isTTY) {
      const filled = Math.round((BAR_WIDTH * percent) / 100);
      const left = rate > 0 && done < this.total ? ` ETA ${seconds((this.total - done) / rate)}` : '';
      const line =
        `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}% ` +
        `${done}/${this.total} ${this.unit} ${Math.round(rate)}/s${left}${note ? ` ${note}` : ''}`;
      // \r back to the start, the line, \x1b[K clears what a longer line before left.
      // Cut to the terminal's width (a wrapped line could not be redrawn); a pty may say 0 columns: unknown.
      const width = this.stream.columns || 80;
      this.stream.write(`\r${line.slice(0, width - 1)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(percent / 10);
    const now = this.now();
    if (tenth > this.lastPlainTenth || now - this.lastPlainAt >= PLAIN_EVERY_MS || note !== this.lastNote) {
      this.lastPlainTenth = tenth;
      this.lastPlainAt = now;
      this.lastNote = note;
      this.stream.write(
        `${done}/${this.total} ${this.unit} (${percent}%, ${Math.round(rate)}/s)${note ? ` ${note}` : ''}\n`,
      );
    }
  }

  /** Clears the bar, so that the summary line printed next starts on a clean line. */
  end(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}

const seconds = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.ceil(s)}s`);
