"""Which shell commands run without the person's yes (CLAWLING_SHELL_ALLOWLIST).

A command skips the question only when every rule holds; otherwise the person
is asked, and the reason names what failed:
1. It is plain: words separated by spaces or tabs, with no quoting, expansion,
   redirection or other shell syntax. `*`, `?` and a leading `~/` are the only
   exceptions, checked below as the shell would expand them.
2. Its first words equal an allowlist entry word for word: `cat` does not allow
   `catx`; `git status` allows `git status --short`, not `git stash`.
3. Its program does not run other programs whatever it is given (shells,
   interpreters, env, xargs, tar…), unless it is given nothing; git runs only
   its reading subcommands (its config and hooks can run anything).
4. No argument is an option of the program that runs programs or writes files
   anywhere (`find -exec`, `git -c`…); long options count in abbreviated form.
5. Every argument, read as a path, resolves (symlinks followed, `..` resolved)
   inside the person's work folder; so does every part after `=`, `:`, `,` or
   `@`, and, in an option, every tail starting at `.` or `/` (`-f/etc/passwd`).
   Globs are expanded here, and what they match may not look like an option.
6. The work folder holds no link out of it, no hard link and no device or pipe,
   because recursive readers (`grep -R`) would follow them.
A command that passes and whose program only reads (`READERS`, git's reading
subcommands) runs unasked even while untrusted content is in the model's view;
one that changes files (`touch`, `mkdir`, `cp`…) then needs a yes (`only_reads`).
Every word is read as a path because knowing each program's syntax is not
possible: a word like `pattern` resolves inside anyway, and a wrong guess costs
one question, never a leak. This narrows what runs unasked; it is not a sandbox.
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

# Anything the shell would read as more than words; `*` `?` `~` are handled below.
SHELL_SYNTAX = frozenset(";&|`$<>(){}[]!#\\'\"^")
GLOB = frozenset("*?")
SEPARATORS = re.compile(r"[=:,@]")
PATH_STARTS = frozenset("./")
MAX_CHECKED_LENGTH = 4_096
MAX_GLOB_MATCHES = 1_000
MAX_FOLDER_ENTRIES = 10_000

# Programs whose arguments are programs, scripts or archives that place files as
# they say: with any argument they need a yes. Versioned names (python3.12) count.
RUNNERS = frozenset(
    "sh bash dash zsh ksh mksh fish csh tcsh busybox env xargs nice nohup timeout stdbuf "
    "setsid time sudo doas su chroot unshare nsenter flock watch strace ltrace gdb exec eval "
    "command builtin python perl ruby node nodejs deno bun php lua luajit tclsh wish awk gawk "
    "mawk nawk sed make ninja ssh scp sftp rsync parallel at batch crontab systemd-run script "
    "vi vim nvim view ex ed emacs nano less more most man pager dc tar cpio pax zip unzip 7z "
    "7za ar docker podman kubectl git-shell".split()
)
# Options that run programs or write files wherever they say. Long ones match when
# abbreviated (getopt_long and git accept unambiguous prefixes); one-letter ones
# anywhere in a short-option cluster; find's primaries only whole.
OPTIONS: dict[str, frozenset[str]] = {
    "find": frozenset("-exec -execdir -ok -okdir -delete -fprint -fprint0 -fprintf -fls".split()),
    "git": frozenset(
        "-c --config-env --exec-path --upload-pack --receive-pack --exec -x -O "
        "--open-files-in-pager --ext-diff --textconv --output".split()
    ),
    "sort": frozenset(["--compress-program"]),
    "split": frozenset(["--filter"]),
    "date": frozenset(["-s", "--set"]),
}
WHOLE_WORD_OPTIONS = frozenset(["find"])
# git subcommands that only read; others write the repository, its config or hooks
# (`git config core.fsmonitor …` runs a program at the next `git status`) or fetch.
GIT_READING = frozenset(
    "status log diff show blame grep ls-files ls-tree shortlog describe rev-parse "
    "rev-list cat-file".split()
)


# Programs that only read files and print: allowlisted, they run unasked even while
# untrusted content is in view (the confirmation gate, bot/safety/gate.py).
READERS = frozenset(
    "cat head tail less more wc grep egrep fgrep rg ls stat file du df pwd whoami date "
    "echo printf sort uniq cut diff cmp comm nl od hexdump md5sum sha1sum sha256sum "
    "basename dirname realpath readlink tree find column jq".split()
)


def only_reads(command: str) -> bool:
    """Whether a command that passed `needs_yes` only reads (see READERS)."""
    split = words(command)
    if not split:
        return False
    program = program_name(split[0])
    # A runner given nothing (`env`) prints and exits; git is held to its reading commands.
    return program in READERS or program == "git" or (program in RUNNERS and len(split) == 1)


class Allowlist:
    """CLAWLING_SHELL_ALLOWLIST entries, each a sequence of whole words."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = [tuple(split) for split in map(words, entries) if split]

    def match(self, command_words: Sequence[str]) -> int | None:
        """How many leading words the longest matching entry covers, or None."""
        lengths = [
            len(entry) for entry in self.entries if tuple(command_words[: len(entry)]) == entry
        ]
        return max(lengths, default=None)


def words(command: str) -> list[str]:
    """The words /bin/sh sees in a plain command (it splits on spaces and tabs only)."""
    return [w for w in re.split(r"[ \t]+", command) if w]


def syntax(command: str) -> str | None:
    """The first character that makes this more than a plain command, or None."""
    for char in command:
        if char in SHELL_SYNTAX or (ord(char) < 32 and char != "\t") or ord(char) == 127:
            return char
    return None


def program_name(word: str) -> str:
    """The program a command word names, without its folder or version (python3.12 → python)."""
    return re.sub(r"[\d.]+$", "", word.rpartition("/")[2]) or word


class Folder:
    """A person's work folder; `real` is its path with symlinks resolved."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.real = os.path.realpath(path)

    def contains(self, target: str) -> bool:
        return target == self.real or target.startswith(os.path.join(self.real, ""))

    def resolve(self, path: str) -> str:
        """Where `path`, given in this folder, leads (symlinks followed, `..` resolved)."""
        return os.path.realpath(os.path.join(self.real, path))


def needs_yes(command: str, allowlist: Allowlist, folder: Folder) -> str | None:
    """Why this command needs the person's yes, or None when it may run unasked."""
    if not command.strip():
        return None  # nothing runs: the tool says the command is empty
    if len(command) > MAX_CHECKED_LENGTH:
        return f"the command is longer than the {MAX_CHECKED_LENGTH} characters I check"
    char = syntax(command)
    if char is not None:
        return f"it uses shell syntax ({char!r}), which I do not check"
    split = words(command)
    covered = allowlist.match(split)
    if covered is None:
        return "shell commands need your yes unless they are on CLAWLING_SHELL_ALLOWLIST"
    program = program_name(split[0])
    arguments = split[covered:]
    if program in RUNNERS and arguments:
        return f"`{split[0]}` can run other programs or write files wherever it is told"
    for argument in arguments:
        reason = _argument_reason(program, argument, folder)
        if reason is not None:
            return reason
    if program == "git":
        subcommand = next((w for w in split[1:] if not w.startswith("-")), None)
        if subcommand is not None and subcommand not in GIT_READING:
            return f"`git {subcommand}` is not one of the git subcommands that only read"
    return _folder_hazard(folder)


def _argument_reason(program: str, argument: str, folder: Folder) -> str | None:
    option = _dangerous_option(program, argument)
    if option is not None:
        return f"the option `{argument}` of {program} can run programs or write files ({option})"
    path = argument
    if "~" in argument:
        # Only `~` and `~/…` are read here as HOME; `~user`, `a=~` and the like are not.
        if argument.partition("/")[0] != "~" or argument.count("~") > 1:
            return f"the argument `{argument}` uses `~` in a way I do not check"
        path = str(folder.path) + argument[1:]  # HOME is the work folder
    if GLOB & set(path):
        return _glob_reason(program, argument, path, folder)
    return _path_reason(argument, path, folder)


def _dangerous_option(program: str, argument: str) -> str | None:
    """The listed option this argument is or contains, or None."""
    if not argument.startswith("-"):
        return None
    for option in sorted(OPTIONS.get(program, ())):
        if program in WHOLE_WORD_OPTIONS:
            if argument == option:
                return option
        elif option.startswith("--"):
            name = argument.partition("=")[0]
            if name.startswith("--") and len(name) > 2 and option.startswith(name):
                return option
        elif not argument.startswith("--") and option[1] in argument[1:]:
            return option
    return None


def _pieces(argument: str) -> Iterator[str]:
    """Every reading of this argument as a path, most literal first. In an option
    (`-f/etc/x`, `-xf../y`) a path may start at any `.` or `/`; a tail starting at a
    letter climbs no higher than the whole word, whose first part is a plain name."""
    dashed = argument.startswith("-")
    for i in range(len(argument)):
        if i == 0 or dashed and argument[i] in PATH_STARTS:
            yield argument[i:]
            yield from SEPARATORS.split(argument[i:])


def _escape(path: str, folder: Folder) -> str | None:
    """Where a reading of `path` leads when that is outside the folder, or None."""
    for piece in _pieces(path):
        target = folder.resolve(piece)
        if not folder.contains(target):
            return target
    return None


def _path_reason(argument: str, path: str, folder: Folder) -> str | None:
    """Why `path` (the argument as the shell passes it) leads out of the folder, or None."""
    target = _escape(path, folder)
    if target is None:
        return None
    return f"the argument `{argument}` reaches outside your work folder (to {target})"


def _glob_reason(program: str, pattern: str, path: str, folder: Folder) -> str | None:
    parts = path.split("/")
    for part in parts:
        if part == ".." or (GLOB & set(part) and part.startswith(".")):
            return f"the pattern `{pattern}` could climb out of your work folder"
    fixed = "/".join(parts[: next(i for i, p in enumerate(parts) if GLOB & set(p))])
    if _escape(fixed, folder) is not None:
        return f"the pattern `{pattern}` starts outside your work folder"
    matches = glob.glob(path, root_dir=folder.real)
    if len(matches) > MAX_GLOB_MATCHES:
        return f"the pattern `{pattern}` matches more than {MAX_GLOB_MATCHES} files"
    for match in matches:
        if match.startswith("-"):
            return f"the pattern `{pattern}` matches `{match}`, which {program} would read as an option"
        if _escape(match, folder) is not None:
            return (
                f"the pattern `{pattern}` matches `{match}`, which leads outside your work folder"
            )
    return None


def _folder_hazard(folder: Folder) -> str | None:
    """A link out, hard link, device or pipe in the work folder, or None."""
    seen = 0
    for top, dirs, files in os.walk(folder.real):
        for name in dirs + files:
            seen += 1
            if seen > MAX_FOLDER_ENTRIES:
                return f"your work folder holds more than {MAX_FOLDER_ENTRIES} files to check"
            path = os.path.join(top, name)
            shown = os.path.relpath(path, folder.real)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                if not folder.contains(os.path.realpath(path)):
                    return f"your work folder holds `{shown}`, a link to outside it"
            elif stat.S_ISREG(info.st_mode):
                if info.st_nlink > 1:
                    return (
                        f"your work folder holds `{shown}`, a hard link (maybe to a file outside)"
                    )
            elif not stat.S_ISDIR(info.st_mode):
                return f"your work folder holds `{shown}`, a device, socket or pipe"
    return None
