import { Command, Option } from 'commander';
import { execFileSync } from 'node:child_process';
import { bashCompletion, zshCompletion } from './completion';

/** A program shaped like lapi's: global options, groups with subcommands, an alias, choices. */
function program(): Command {
  const p = new Command('lapi').version('1').option('--data-dir <dir>', 'dir');
  p.addOption(new Option('--color <when>').choices(['auto', 'yes', 'no']));
  const bouncers = p.command('bouncers');
  bouncers.command('list').addOption(new Option('-o, --output <format>').choices(['human', 'json', 'raw']));
  bouncers.command('prune').option('-d, --duration <d>').option('--force');
  p.command('decisions').alias('decision').command('add');
  p.command('allowlists').alias('allowlist').command('inspect');
  return p;
}

/** What bash completes for these words (the last one being completed), through the generated function. */
function complete(script: string, ...words: string[]): string[] {
  const line = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '--norc',
      '-c',
      `eval "$SCRIPT"; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _lapi_complete; echo "\${COMPREPLY[*]}"`,
    ],
    { env: { PATH: process.env.PATH, SCRIPT: script }, encoding: 'utf8' },
  );
  return out.trim().split(' ').filter(Boolean);
}

describe('lapi completion', () => {
  const script = bashCompletion(program());

  it('completes commands, subcommands, aliases and flags from the commander tree', () => {
    expect(complete(script, 'lapi', 'dec')).toEqual(['decisions']);
    expect(complete(script, 'lapi', '')).toEqual(
      expect.arrayContaining(['bouncers', 'decisions', 'allowlists', '--data-dir', '--color', '--version']),
    );
    expect(complete(script, 'lapi', '')).not.toContain('allowlist'); // an alias: understood, not offered
    expect(complete(script, 'lapi', 'dec')).toEqual(['decisions']);
    expect(complete(script, 'lapi', 'bouncers', '')).toEqual(expect.arrayContaining(['list', 'prune']));
    expect(complete(script, 'lapi', 'bouncers', 'prune', '--')).toEqual(
      expect.arrayContaining(['--duration', '--force', '--data-dir', '--color', '--help']),
    );
    expect(complete(script, 'lapi', 'allowlist', 'in')).toEqual(['inspect']);
    // Global options before the command are skipped on the way.
    expect(complete(script, 'lapi', '--data-dir', '/srv/data', 'bouncers', 'l')).toEqual(['list']);
  });

  it("completes an option's choices", () => {
    expect(complete(script, 'lapi', 'bouncers', 'list', '-o', '')).toEqual(['human', 'json', 'raw']);
    expect(complete(script, 'lapi', 'bouncers', 'list', '--color', 'n')).toEqual(['no']);
  });

  it('registers the function for lapi, in bash and through bashcompinit in zsh', () => {
    const registered = execFileSync('bash', ['--norc', '-c', 'eval "$SCRIPT"; complete -p lapi'], {
      env: { PATH: process.env.PATH, SCRIPT: script },
      encoding: 'utf8',
    });
    expect(registered.trim()).toBe('complete -o default -F _lapi_complete lapi');
    expect(zshCompletion(program())).toMatch(/^#compdef lapi\n[\s\S]*bashcompinit[\s\S]*complete -o default -F/);
  });
});
