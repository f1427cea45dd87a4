import type { Command, Option } from 'commander';

// `lapi completion bash|zsh`: the script is generated from the commander tree the CLI runs, so a new command,
// subcommand, flag or choice is completed as soon as it exists.

interface Node {
  /** The command path after `lapi`, space-separated ('' for lapi itself). */
  readonly path: string;
  /** The names a user may type for each step of the path (a command's name and its aliases). */
  readonly spellings: readonly string[];
  readonly words: readonly string[];
  /** Options whose value is one of a few choices: each flag spelling → the choices. */
  readonly choices: ReadonlyMap<string, readonly string[]>;
}

const flagsOf = (option: Option): string[] => [option.short, option.long].filter((f): f is string => f !== undefined);

function nodes(command: Command, path: string, inherited: readonly Option[]): Node[] {
  const subcommands = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  // Options of lapi itself (--data-dir, --color) are accepted after any subcommand too.
  const options = [...inherited, ...command.options.filter((o) => !o.hidden)];
  const choices = new Map<string, readonly string[]>();
  for (const option of options) {
    for (const flag of option.argChoices ? flagsOf(option) : []) {
      choices.set(flag, option.argChoices!);
    }
  }
  const words = [
    // Aliases (allowlist, decision) are understood on the way but not offered: `lapi dec` completes to one word.
    ...subcommands.map((c) => c.name()),
    ...options.flatMap((o) => (o.long ? [o.long] : flagsOf(o))),
    '--help',
  ];
  const here: Node = { path, spellings: [], words, choices };
  const globals = path === '' ? command.options.filter((o) => !o.hidden && o.long !== '--version') : inherited;
  return [
    here,
    ...subcommands.flatMap((c) =>
      nodes(c, `${path} ${c.name()}`.trim(), globals).map((n, i) =>
        i === 0 ? { ...n, spellings: [c.name(), ...c.aliases()] } : n,
      ),
    ),
  ];
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** A bash completion script for the program: `source <(lapi completion bash)`. */
export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const all = nodes(program, '', []);
  // Walking the words typed: each word that names a subcommand of the path so far extends it.
  const steps = all
    .filter((n) => n.path !== '')
    .flatMap((n) => {
      const parent = n.path.split(' ').slice(0, -1).join(' ');
      return n.spellings.map((s) => `      ${quote(`${parent}|${s}`)}) path=${quote(n.path)} ;;`);
    });
  const wordsByPath = all.map((n) => `    ${quote(n.path)}) words=${quote(n.words.join(' '))} ;;`);
  const choicesByFlag = all.flatMap((n) =>
    [...n.choices].map(([flag, values]) => `    ${quote(`${n.path}|${flag}`)}) words=${quote(values.join(' '))} ;;`),
  );
  return [
    `# ${name} completion for bash, generated from its commands: source <(${name} completion bash)`,
    `${fn}() {`,
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" path="" words="" i',
    '  [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "$path|${COMP_WORDS[i]}" in',
    ...steps,
    '    esac',
    '  done',
    '  case "$path|$prev" in',
    ...choicesByFlag,
    '  *)',
    '    case "$path" in',
    ...wordsByPath.map((l) => `  ${l}`),
    '    esac',
    '    ;;',
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    `complete -o default -F ${fn} ${name}`,
    '',
  ].join('\n');
}

/** zsh runs the bash script through bashcompinit: `source <(lapi completion zsh)`, or in a file on $fpath. */
export function zshCompletion(program: Command): string {
  return [
    `#compdef ${program.name()}`,
    `# ${program.name()} completion for zsh: source <(${program.name()} completion zsh)`,
    'autoload -U +X compinit && { (( $+functions[compdef] )) || compinit; }',
    'autoload -U +X bashcompinit && bashcompinit',
    bashCompletion(program),
  ].join('\n');
}
