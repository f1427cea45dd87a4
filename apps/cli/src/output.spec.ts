import { Command } from 'commander';
import { colorsOn, csv, outputOption } from './output';

describe('CLI output', () => {
  it('colours only with yes, or auto on a terminal without NO_COLOR', () => {
    const tty = { isTTY: true };
    const pipe = {};
    expect(colorsOn('yes', pipe, { NO_COLOR: '1' })).toBe(true);
    expect(colorsOn('no', tty, {})).toBe(false);
    expect(colorsOn('auto', tty, {})).toBe(true);
    expect(colorsOn('auto', tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorsOn('auto', tty, { NO_COLOR: '' })).toBe(true); // no-color.org: set and not empty
    expect(colorsOn('auto', pipe, {})).toBe(false);
  });

  it("writes CSV as Go's encoding/csv does (cscli's -o raw)", () => {
    expect(csv(['name', 'ip'], [['fw', '10.0.0.1']])).toBe('name,ip\nfw,10.0.0.1');
    expect(csv(['a'], [['x,y'], ['say "hi"'], [' lead'], [''], ['\\.']])).toBe(
      'a\n"x,y"\n"say ""hi"""\n" lead"\n\n"\\."',
    );
  });

  it('offers human, json and raw, human by default, and refuses anything else', () => {
    const run = (args: string[]) => {
      let seen: unknown;
      const cmd = new Command('t')
        .exitOverride()
        .configureOutput({ writeErr: () => undefined })
        .addOption(outputOption())
        .action((opts: { output: string }) => {
          seen = opts.output;
        });
      cmd.parse(args, { from: 'user' });
      return seen;
    };
    expect(run([])).toBe('human');
    expect(run(['-o', 'raw'])).toBe('raw');
    expect(run(['--output', 'json'])).toBe('json');
    expect(() => run(['-o', 'yaml'])).toThrow(/Allowed choices are human, json, raw/);
  });
});
