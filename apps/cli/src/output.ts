import { Option } from 'commander';

// How every command prints: the `-o` choices, colours, and cscli's `-o raw` CSV. Loaded by every run (commander
// only), so `lapi --help` stays as fast as it is (issue #18).

export type OutputFormat = 'human' | 'json' | 'raw';

/** `-o, --output human|json|raw`, as cscli's: raw is CSV with a header line (cscli's header where cscli has one). */
export const outputOption = (): Option =>
  new Option('-o, --output <format>', 'output format').choices(['human', 'json', 'raw']).default('human');

export type ColorMode = 'auto' | 'yes' | 'no';

/** `--color auto|yes|no`, cscli's global flag. */
export const colorOption = (): Option =>
  new Option('--color <when>', 'colours and emoji in tables: auto (on a terminal, unless NO_COLOR is set), yes, no')
    .choices(['auto', 'yes', 'no'])
    .default('auto');

/**
 * Whether tables are coloured: always with yes, never with no; with auto, only when stdout is a terminal and
 * NO_COLOR (no-color.org) is unset, so that a pipe or a file never receives escape sequences.
 */
export function colorsOn(
  mode: ColorMode,
  stdout: { readonly isTTY?: boolean } = process.stdout,
  // NO_COLOR is the terminal's convention (no-color.org), not the server's configuration.
  // eslint-disable-next-line no-restricted-syntax
  env: Record<string, string | undefined> = process.env,
): boolean {
  if (mode !== 'auto') {
    return mode === 'yes';
  }
  return stdout.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** The table style a command's run asked for, from the program's global `--color` (default auto). */
export const tableStyleOf = (program: { opts(): Record<string, unknown> }): { color: boolean } => ({
  color: colorsOn((program.opts().color as ColorMode | undefined) ?? 'auto'),
});

/** One CSV field as Go's encoding/csv writes it (what cscli's raw output is): quoted when it must be. */
export const csvField = (value: string): string =>
  value !== '' && (value === '\\.' || /[",\r\n]/.test(value) || /^\s/.test(value))
    ? `"${value.replace(/"/g, '""')}"`
    : value;

/** Rows as CSV with a header line, lines ended by \n like Go's csv.Writer. */
export const csv = (headers: readonly string[], rows: readonly (readonly string[])[]): string =>
  [headers, ...rows].map((row) => row.map(csvField).join(',')).join('\n');
