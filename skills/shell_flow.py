"""Reading a shell script far enough to see downloaded code being run.

The scanner's patterns catch `curl … | sh` on one line. A script can spread the
same thing out: a download saved to a file and run later, a URL or the program
name kept in a variable, a pipe continued on the next line, a fetch whose output
runs through `base64 -d` or `gunzip` on its way to a shell. This reads the script
as commands (line continuations joined, `;` `&&` `||` `|` and line breaks split,
variables substituted, quotes removed) and follows where downloaded bytes go.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

DOWNLOADERS = frozenset(
    {
        "curl",
        "wget",
        "fetch",
        "aria2c",
        "http",
        "https",
        "lwp-request",
        "lwp-download",
        "ftp",
        "tftp",
        "scp",
        "rsync",
        "nc",
        "ncat",
        "socat",
        "iwr",
        "irm",
        "invoke-webrequest",
        "invoke-restmethod",
    }
)
INTERPRETERS = frozenset(
    {
        "sh",
        "bash",
        "zsh",
        "dash",
        "ksh",
        "fish",
        "csh",
        "tcsh",
        "ash",
        "python",
        "python2",
        "python3",
        "perl",
        "ruby",
        "node",
        "nodejs",
        "deno",
        "bun",
        "php",
        "lua",
        "pwsh",
        "powershell",
        "osascript",
        "iex",
        "invoke-expression",
        "source",
        ".",
        "eval",
    }
)
# Programs that run the command after them: `sudo sh`, `env -i bash`, `xargs sh`.
WRAPPERS = frozenset(
    {
        "sudo",
        "doas",
        "env",
        "nohup",
        "setsid",
        "timeout",
        "nice",
        "exec",
        "command",
        "time",
        "xargs",
        "busybox",
        "stdbuf",
    }
)
# Filters bytes pass through unchanged in meaning on their way to a shell.
PASSTHROUGH = frozenset(
    {
        "base64",
        "b64",
        "gunzip",
        "gzip",
        "zcat",
        "xz",
        "unxz",
        "bzip2",
        "bunzip2",
        "tar",
        "openssl",
        "tee",
        "cat",
        "tr",
        "rev",
        "sed",
        "awk",
        "xxd",
        "head",
        "tail",
        "dd",
        "uudecode",
        "zstd",
        "unzstd",
    }
)
_OUTPUT_OPTIONS = {
    "-o",
    "-O",
    "--output",
    "--output-document",
    "-OutFile",
    "-outfile",
    "-P",
    "--directory-prefix",
}
_REDIRECTS = frozenset({">", ">>", ">|", "&>"})
_PIPES = frozenset({"|", "|&"})
_OPERATORS = frozenset(";&|()<>")  # what separates commands
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_SUBSTITUTION = re.compile(r"\$\(|`|<\(")
# Code that fetches, inside an interpreter's argument (python -c, PowerShell).
_FETCHING_CODE = re.compile(
    r"urlopen|requests\.get|urllib|downloadstring|downloadfile|webclient", re.I
)
_FETCHER = re.compile(r"\b(?:curl|wget|fetch|iwr|irm)\b", re.I)


@dataclass
class Command:
    words: list[str]
    line: int  # 0-based line where the command starts
    piped_from: Command | None = None
    redirect_to: list[str] = field(default_factory=list)


def _program(word: str) -> str:
    if word == ".":  # `. file` sources it
        return word
    return PurePosixPath(word).name.lower().removesuffix(".exe")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations (and a trailing pipe or &&) joined."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0  # set again at each line that is not a continuation
    for number, line in enumerate(text.split("\n")):
        stripped = line.rstrip()
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        if stripped.endswith(("|", "&&")):  # "||" ends with "|" too
            pending += stripped + " "
            continue
        out.append((start, pending + line))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote: read what we can word by word
        return line.split()


def _segments(line: str, variables: dict[str, str]) -> list[tuple[list[str], list[str], bool]]:
    """One logical line as (words, redirect targets, piped from the one before)."""
    segments: list[tuple[list[str], list[str], bool]] = []
    words: list[str] = []
    targets: list[str] = []
    piped = False
    redirect = False
    for token in _tokens(line):
        token = _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), token)
        if redirect:
            targets.append(token)
            redirect = False
        elif token in _REDIRECTS:
            redirect = True
        elif token in _PIPES:
            segments.append((words, targets, piped))
            words, targets, piped = [], [], True
        elif set(token) <= _OPERATORS:
            segments.append((words, targets, piped))
            words, targets, piped = [], [], False
        else:
            words.append(token)
            if len(words) == 1 and (assigned := _ASSIGN.match(token)):
                variables[assigned.group(1)] = assigned.group(2)
    segments.append((words, targets, piped))
    return segments


def parse_commands(text: str) -> list[Command]:
    """The commands of a script, in order, each with what pipes into it."""
    commands: list[Command] = []
    variables: dict[str, str] = {}
    for number, line in _logical_lines(text):  # comments are dropped by the lexer
        previous: Command | None = None
        for words, targets, piped in _segments(line, variables):
            if not words:
                previous = None
                continue
            command = Command(words, number, previous if piped else None, targets)
            commands.append(command)
            previous = command
    return commands


def _program_words(command: Command) -> list[str]:
    """The command's words from the program that really runs (assignments, wrappers
    such as sudo and env, and their options left out)."""
    words = list(command.words)
    while words and (
        _ASSIGN.match(words[0])
        or _program(words[0]) in WRAPPERS
        or (len(words) < len(command.words) and (words[0].startswith("-") or words[0].isdigit()))
    ):
        words.pop(0)
    return words


def _is_download(command: Command) -> bool:
    programs = [_program(w) for w in _program_words(command)]
    if not programs:
        return False
    if programs[0] in DOWNLOADERS:
        return True
    return any(_FETCHING_CODE.search(word) for word in command.words)


def _runs_code(command: Command) -> bool:
    words = _program_words(command)
    return bool(words) and _program(words[0]) in INTERPRETERS


def _outputs(command: Command) -> list[str]:
    files = list(command.redirect_to)
    words = _program_words(command) or command.words
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in _OUTPUT_OPTIONS or re.fullmatch(r"-[a-zA-Z]*[oO]", word):
            files.append(following)
        elif word.startswith(("--output=", "--output-document=")):
            files.append(word.partition("=")[2])
        elif re.fullmatch(r"-[oO]\S+", word):
            files.append(word[2:])
        elif _program(word) == "tee" and following:
            files.append(following)
    if _program(words[0]) == "wget" and not files:
        url = next((w for w in words[1:] if "://" in w), None)
        if url:
            files.append(PurePosixPath(url.split("?")[0]).name)
    return [f for f in files if f]


def _same_file(a: str, b: str) -> bool:
    return bool(a) and bool(b) and (a == b or PurePosixPath(a).name == PurePosixPath(b).name)


def _executes(command: Command, path: str) -> bool:
    """Whether the command runs the file: as the program itself, as the script an
    interpreter is given (its first argument that is not an option), or by making
    it executable."""
    words = _program_words(command)
    if not words:
        return False
    if _same_file(words[0], path):  # ./tool or /tmp/tool as the command
        return True
    if _program(words[0]) in ("chmod", "install"):
        return any(_same_file(w, path) for w in words[1:])
    if _runs_code(command):
        for word in words[1:]:
            if not word.startswith("-"):
                return _same_file(word, path)
    return False


def download_then_run(text: str) -> list[int]:
    """0-based lines where downloaded bytes reach a program that runs them: piped
    (through decoders and filters) into an interpreter, or saved to a file that is
    later run, sourced or made executable."""
    commands = parse_commands(text)
    lines: list[int] = []
    saved: list[str] = []
    for command in commands:
        source = command.piped_from
        while source is not None and not _is_download(source):
            words = _program_words(source)
            passes = bool(words) and _program(words[0]) in PASSTHROUGH
            source = source.piped_from if passes else None
        if source is not None and _runs_code(command):
            lines.append(source.line)
            continue
        substituted = [w for w in command.words if _SUBSTITUTION.search(w)]
        if _runs_code(command) and any(_FETCHER.search(w) for w in substituted):
            lines.append(command.line)
            continue
        if _is_download(command) or (command.piped_from is not None and _chain_downloads(command)):
            saved.extend(_outputs(command))
            continue
        if any(_executes(command, path) for path in saved):
            lines.append(command.line)
    return sorted(set(lines))


def _chain_downloads(command: Command) -> bool:
    source = command.piped_from
    while source is not None:
        if _is_download(source):
            return True
        source = source.piped_from
    return False
