// `curate completion bash|zsh|fish`: a shell completion script for the commands and
// flags commander knows, printed on stdout. Generated from the program itself, so it
// never disagrees with `--help`. Deterministic (commands and flags in definition order).

export interface CompletionCommand {
  name: string;
  description: string;
  /** Long and short spellings, e.g. ["--config", "-c"]; `value`: the flag takes an argument; `files`: it names a file or folder. */
  options: { flags: string[]; description: string; value: boolean; files: boolean }[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

function bash(commands: CompletionCommand[], globals: string[]): string {
  const cases = commands
    .map((c) => {
      const flags = [...c.options.flatMap((o) => o.flags), ...globals, '--help'].join(' ');
      const fileFlags = c.options.filter((o) => o.value && o.files).flatMap((o) => o.flags);
      const valueFlags = c.options.filter((o) => o.value && !o.files).flatMap((o) => o.flags);
      return [
        `    ${c.name})`,
        ...(fileFlags.length ? [`      case "$prev" in ${fileFlags.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac`] : []),
        ...(valueFlags.length ? [`      case "$prev" in ${valueFlags.join('|')}) return ;; esac`] : []),
        `      COMPREPLY=($(compgen -W ${sq(flags)} -- "$cur")) ;;`,
      ].join('\n');
    })
    .join('\n');
  return `# bash completion for curate: eval "$(curate completion bash)" in ~/.bashrc
_curate() {
  local cur prev cmd i
  cur=\${COMP_WORDS[COMP_CWORD]}
  prev=\${COMP_WORDS[COMP_CWORD-1]}
  cmd=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in -*) ;; *) cmd=\${COMP_WORDS[i]}; break ;; esac
  done
  case $cmd in
    '')
      COMPREPLY=($(compgen -W ${sq([...commands.map((c) => c.name), ...globals, '--help', '--version'].join(' '))} -- "$cur")) ;;
${cases}
    completion)
      COMPREPLY=($(compgen -W ${sq(SHELLS.join(' '))} -- "$cur")) ;;
  esac
}
complete -F _curate curate
`;
}

function zsh(commands: CompletionCommand[]): string {
  const zq = (s: string): string => oneLine(s).replace(/[[\]:'\\]/g, (m) => (m === "'" ? `'\\''` : `\\${m}`));
  const spec = (c: CompletionCommand): string =>
    c.options
      .map((o) => {
        const long = o.flags.find((f) => f.startsWith('--'))!;
        const names = o.flags.length > 1 ? `{${o.flags.join(',')}}` : long;
        const arg = o.value ? `:${long.slice(2)}:${o.files ? '_files' : ' '}` : '';
        return `        ${o.flags.length > 1 ? `'(${o.flags.join(' ')})'` : ''}${names}'[${zq(o.description)}]${arg}'`;
      })
      .join(' \\\n');
  return `#compdef curate
# zsh completion for curate: curate completion zsh > "\${fpath[1]}/_curate" (then restart zsh)
_curate() {
  local context state line
  _arguments -C \\
    '(-v --version)'{-v,--version}'[print the version]' \\
    '--json[machine-readable output]' '(-q --quiet)'{-q,--quiet}'[print only errors]' '--verbose[more detail]' '--no-color[no colour]' \\
    '1:command:->command' '*::arg:->args'
  case $state in
    command)
      local -a commands
      commands=(
${commands.map((c) => `        '${c.name}:${zq(c.description)}'`).join('\n')}
        'completion:print a shell completion script'
      )
      _describe command commands ;;
    args)
      case $line[1] in
${commands.map((c) => `        ${c.name}) _arguments \\\n${spec(c)} ;;`).join('\n')}
        completion) _values shell ${SHELLS.join(' ')} ;;
      esac ;;
  esac
}
_curate "$@"
`;
}

function fish(commands: CompletionCommand[]): string {
  const fq = (s: string): string => sq(oneLine(s));
  const lines = ['# fish completion for curate: curate completion fish > ~/.config/fish/completions/curate.fish', 'complete -c curate -f'];
  for (const c of commands) lines.push(`complete -c curate -n __fish_use_subcommand -a ${c.name} -d ${fq(c.description)}`);
  lines.push(`complete -c curate -n __fish_use_subcommand -a completion -d ${fq('print a shell completion script')}`);
  lines.push(`complete -c curate -n '__fish_seen_subcommand_from completion' -a ${sq(SHELLS.join(' '))}`);
  for (const c of commands) {
    for (const o of c.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
      lines.push(`complete -c curate -n '__fish_seen_subcommand_from ${c.name}'${long ? ` -l ${long}` : ''}${short ? ` -s ${short}` : ''}${o.value ? (o.files ? ' -r -F' : ' -r') : ''} -d ${fq(o.description)}`);
    }
  }
  for (const [l, s, d] of [['json', '', 'machine-readable output'], ['quiet', 'q', 'print only errors'], ['verbose', '', 'more detail'], ['no-color', '', 'no colour'], ['help', 'h', 'show help']] as const) lines.push(`complete -c curate -l ${l}${s ? ` -s ${s}` : ''} -d ${fq(d)}`);
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, commands: CompletionCommand[]): string {
  const globals = ['--json', '--quiet', '--verbose', '--no-color'];
  return shell === 'bash' ? bash(commands, globals) : shell === 'zsh' ? zsh(commands) : fish(commands);
}
