/**
 * `nkctl completion bash|zsh`: prints a shell completion script, made from
 * the commander program itself, so every command, subcommand and flag that
 * nkctl has completes without a list kept by hand. Resource types come from
 * the registry. Object names are asked of the cluster (`nkctl get TYPE -o
 * name`, at most 5 s) for the first argument of commands that take a type
 * (their first argument is `type`, or described as `TYPE ...`), a node
 * (`node`) or a pod (`pod`), and for -n. Flags whose value is a file fall
 * back to the shell's file completion. Changes nothing.
 *
 * The two shells share one POSIX function that turns the words typed so far
 * into candidates; each shell only wraps it. Load it with
 * `source <(nkctl completion bash)` (or zsh, after compinit).
 */
import { Command } from 'commander';
import { builtinRegistry } from '../../api/types/index.js';
import { isBoolFlag } from '../../base/component-main.js';
import { CliError } from '../context.js';

type ArgKind = 'types' | 'nodes' | 'pods';

/** What completion needs to know of one command, found by its path (`top node`, '' for nkctl itself). */
export interface CommandInfo {
  path: string;
  /** Subcommand name (alias included) to its name. */
  subcommands: Map<string, string>;
  flags: string[];
  /** Flags that take the next word as their value. */
  valued: string[];
  firstArg?: ArgKind;
}

function argKind(cmd: Command): ArgKind | undefined {
  const arg = cmd.registeredArguments[0];
  if (!arg) return undefined;
  if (arg.name() === 'type' || /^TYPE\b/.test(arg.description)) return 'types';
  if (arg.name() === 'node') return 'nodes';
  if (arg.name() === 'pod') return 'pods';
  return undefined;
}

/** Every command of the program, depth first, with the flags it accepts itself. */
export function describeProgram(program: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const walk = (cmd: Command, path: string) => {
    const options = cmd.options.filter((o) => !o.hidden);
    out.push({
      path,
      subcommands: new Map(cmd.commands.flatMap((c) => [c.name(), ...c.aliases()].map((n) => [n, c.name()]))),
      flags: [...options.flatMap((o) => [o.short, o.long]), '-h', '--help'].filter((f): f is string => !!f),
      valued: options
        .filter((o) => o.required || (o.optional && !isBoolFlag(o)))
        .flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)),
      firstArg: argKind(cmd),
    });
    for (const c of cmd.commands) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, '');
  return out;
}

/** The resource type names to offer: each plural once. */
export function resourceTypeNames(): string[] {
  return [...new Set(builtinRegistry.all.map((rt) => rt.plural))].sort();
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A shell function `name` that prints, for the command path in $1, what `pick` gives. */
function caseFunction(
  name: string,
  infos: CommandInfo[],
  pick: (i: CommandInfo) => string | undefined,
): string {
  const arms = infos.flatMap((i) => {
    const value = pick(i);
    return value ? [`    ${quote(i.path)}) echo ${quote(value)} ;;`] : [];
  });
  return `${name}() {\n  case "$1" in\n${arms.join('\n')}\n  esac\n}\n`;
}

/** The shared POSIX part: data functions made from the program, and the candidate logic. */
export function candidateFunctions(program: Command): string {
  const infos = describeProgram(program);
  const root = infos[0];
  const globalValued = root.valued.join(' ');
  const subcommandArms = infos.flatMap((i) =>
    [...i.subcommands].map(([alias, name]) => `    ${quote(`${i.path}/${alias}`)}) echo ${quote(name)} ;;`),
  );
  return `${caseFunction('__nkctl_subcommands', infos, (i) => [...new Set(i.subcommands.values())].join(' '))}
__nkctl_subcommand() {
  case "$1/$2" in
${subcommandArms.join('\n')}
  esac
}
${caseFunction('__nkctl_flags', infos, (i) => [...new Set([...i.flags, ...(i.path ? root.flags : [])])].join(' '))}
${caseFunction('__nkctl_valued', infos, (i) => [...new Set([...i.valued, ...root.valued])].join(' '))}
${caseFunction('__nkctl_first_arg', infos, (i) => i.firstArg)}
__nkctl_types=${quote(resourceTypeNames().join(' '))}

# Names of one resource type, from the cluster the command line names.
__nkctl_names() {
  if command -v timeout >/dev/null 2>&1; then set -- timeout 5 "$__nkctl_self" $__nkctl_globals get "$1" -o name
  else set -- "$__nkctl_self" $__nkctl_globals get "$1" -o name; fi
  "$@" 2>/dev/null | sed 's|^[^/]*/||'
}

# "$@": the words after nkctl, the last being the one completed. Prints candidates, one per line.
__nkctl_candidates() {
  [ -n "\${ZSH_VERSION-}" ] && emulate -L sh
  local __nkctl_globals='' cmd='' nargs=0 type='' value_of='' w sub cur
  while [ $# -gt 1 ]; do
    w=$1; shift
    case " $(__nkctl_valued "$cmd") " in
      *" $w "*)
        if [ $# -eq 1 ]; then value_of=$w; break; fi
        case " ${globalValued} " in *" $w "*) __nkctl_globals="$__nkctl_globals $w $1" ;; esac
        shift; continue ;;
    esac
    case $w in -*) continue ;; esac
    sub=$(__nkctl_subcommand "$cmd" "$w")
    if [ $nargs -eq 0 ] && [ -n "$sub" ]; then cmd="\${cmd:+$cmd }$sub"
    else nargs=$((nargs + 1)); [ $nargs -eq 1 ] && type=$w; fi
  done
  cur=$1
  case $value_of in
    -n|--namespace) __nkctl_names namespaces; return ;;
    ?*) return ;;
  esac
  case $cur in -*) printf '%s\\n' $(__nkctl_flags "$cmd"); return ;; esac
  if [ $nargs -eq 0 ] && [ -n "$(__nkctl_subcommands "$cmd")" ]; then
    printf '%s\\n' $(__nkctl_subcommands "$cmd"); return
  fi
  case $(__nkctl_first_arg "$cmd") in
    types)
      if [ $nargs -gt 0 ]; then __nkctl_names "$type"
      else case $cur in
        */*) __nkctl_names "\${cur%%/*}" | sed "s|^|\${cur%%/*}/|" ;;
        *) printf '%s\\n' $__nkctl_types ;;
      esac; fi ;;
    nodes) [ $nargs -eq 0 ] && __nkctl_names nodes ;;
    pods) [ $nargs -eq 0 ] && __nkctl_names pods ;;
  esac
  return 0
}
`;
}

export function bashScript(program: Command): string {
  return `# nkctl completion for bash. Load it with: source <(nkctl completion bash)
${candidateFunctions(program)}
_nkctl() {
  local __nkctl_self=\${COMP_WORDS[0]}
  COMPREPLY=($(compgen -W "$(__nkctl_candidates "\${COMP_WORDS[@]:1:COMP_CWORD}")" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _nkctl nkctl
`;
}

export function zshScript(program: Command): string {
  return `#compdef nkctl
# nkctl completion for zsh. Load it after compinit with: source <(nkctl completion zsh)
${candidateFunctions(program)}
_nkctl() {
  local __nkctl_self=\${words[1]}
  local -a candidates
  candidates=(\${(f)"$(__nkctl_candidates "\${(@)words[2,CURRENT]}")"})
  if (( \${#candidates} )); then compadd -- $candidates; else _files; fi
}
compdef _nkctl nkctl
`;
}

export function newCompletionCommand(): Command {
  return new Command('completion')
    .description('Print a completion script for bash or zsh, to load with source <(nkctl completion bash).')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string, _o: unknown, cmd: Command) => {
      const program = cmd.parent;
      if (!program) throw new CliError('completion needs the nkctl program');
      if (shell === 'bash') process.stdout.write(bashScript(program));
      else if (shell === 'zsh') process.stdout.write(zshScript(program));
      else throw new CliError(`Unsupported shell type "${shell}".`);
    });
}
