"""`petclinic-ops completion bash|zsh`: a completion script generated from the argument parser
the registry builds (cli/registry.py), so it always knows every command, option and choice.

bash: ``source <(petclinic-ops completion bash)``; zsh: ``source <(petclinic-ops completion zsh)``
(zsh runs the same function through bashcompinit). Options that take a file fall back to the
shell's file completion.
"""

from __future__ import annotations

import argparse
import shlex

from petclinic_local.cli import registry


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _words(parser: argparse.ArgumentParser) -> list[str]:
    words = list(_subcommands(parser))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        words += [option for option in action.option_strings if option.startswith("--")]
        if not action.option_strings and action.choices:
            words += [str(choice) for choice in action.choices]
    return words


def _values(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Options that take a value -> their choices ([] when free, e.g. a file)."""
    return {
        option: [str(choice) for choice in action.choices or ()]
        for action in parser._actions
        if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._SubParsersAction)
        for option in action.option_strings
        if option.startswith("--")
    }


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[str, argparse.ArgumentParser]:
    """Every command that runs ("local invoke", "status"...) and its parser, walked from the parser
    itself (the tests drive every command from this)."""
    children = _subcommands(parser)
    if not children:
        return {" ".join(path): parser}
    found: dict[str, argparse.ArgumentParser] = {}
    for name, child in children.items():
        found |= commands(child, (*path, name))
    return found


def table(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
    """Command path ("local invoke") -> (the words that may follow, each option's choices)."""
    found = {" ".join(path): (_words(parser), _values(parser))}
    for name, child in _subcommands(parser).items():
        found |= table(child, (*path, name))
    return found


def _quote(text: str) -> str:
    return shlex.quote(text) if text else '""'


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    entries = table(parser)
    paths = " ".join(shlex.quote(path) for path in entries if path)
    commands, options = [], []
    for path, (words, values) in entries.items():
        commands.append(f"        {_quote(path)}) words={_quote(' '.join(words))} ;;")
        for option, choices in values.items():
            key = _quote(f"{path} {option}".strip())
            action = f"words={_quote(' '.join(choices))}; found=1" if choices else "return 0"
            options.append(f"        {key}) {action} ;;")
    function = f"""_petclinic_ops() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local path="" word candidate known_path i
    local known=({paths})
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        candidate="${{path:+$path }}$word"
        for known_path in "${{known[@]}}"; do
            if [[ "$known_path" == "$candidate" ]]; then path="$candidate"; break; fi
        done
    done
    local words="" found=0
    if [[ "$prev" == --* ]]; then
        case "${{path:+$path }}$prev" in
{chr(10).join(options)}
        esac
    fi
    if [[ $found == 0 ]]; then
        case "$path" in
{chr(10).join(commands)}
        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _petclinic_ops petclinic-ops
"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + function
    return function


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=("bash", "zsh"))


@registry.command(
    "completion",
    arguments=_arguments,
    help="print a shell completion script",
    description="Prints a completion script: `source <(petclinic-ops completion bash)` (in ~/.bashrc), "
    "or for zsh `source <(petclinic-ops completion zsh)` (in ~/.zshrc).",
    epilog="exit codes: 0 printed, 2 bad input (a shell other than bash or zsh)",
)
def _completion(args: argparse.Namespace) -> int:
    print(script(registry.parser(), args.shell), end="")
    return 0
