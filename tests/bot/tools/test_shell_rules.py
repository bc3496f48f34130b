"""The rules that let a shell command run without the person's yes, on a real folder.

Each row is a command and what must happen: None (runs unasked) or a fragment
of the reason the person is shown. The end-to-end attacks through the agent are
in test_shell.py; these rows pin each rule down on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.tools.shell_rules import (
    MAX_CHECKED_LENGTH,
    MAX_FOLDER_ENTRIES,
    MAX_GLOB_MATCHES,
    Allowlist,
    Folder,
    needs_yes,
    only_reads,
    program_name,
    syntax,
    words,
)

ALLOWLIST = Allowlist(
    ["ls", "cat", "head", "tail", "wc", "grep", "find", "git", "env", "sort", "date", "sed"]
)
NOT_LISTED = "shell commands need your yes unless they are on CLAWLING_SHELL_ALLOWLIST"


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    work = tmp_path / "shell" / "7"
    (work / "notes").mkdir(parents=True)
    (work / "notes.txt").write_text("milk\n")
    (work / "notes" / "a.md").write_text("# a\n")
    (work / "inner").symlink_to(work / "notes")  # a link that stays inside is fine
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-secret\n")
    return Folder(work)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        # Plain, listed and confined: runs unasked.
        ("cat notes.txt", None),
        ("ls", None),
        ("ls -la", None),
        ("ls -la notes", None),
        ("ls\t-la\tnotes", None),
        ("  ls  ", None),
        ("grep -rn milk .", None),
        ("head -n 1 notes/a.md", None),
        ("head -n1 notes.txt", None),
        ("wc -l notes/../notes.txt", None),
        ("cat inner/a.md", None),
        ("cat ~/notes.txt", None),
        ("ls ~", None),
        ("cat *.txt", None),
        ("ls notes/*", None),
        ("cat no-match-*", None),
        ("find . -name a.md", None),
        ("git status --short", None),
        ("git", None),
        ("git --no-pager log -n 3", None),
        ("sort -u notes.txt", None),
        ("env", None),
        ("grep -fpatterns notes.txt", None),
        ("grep --exclude=x,y -e milk notes.txt", None),
        ("git log -- notes.txt", None),
        ("git log --color", None),
        ("cat ./*.txt", None),
        ("cat notes/./*.md", None),
        ("cat " + "a" * (MAX_CHECKED_LENGTH - 4), None),
        ("", None),
        # Shell syntax is never checked: it always needs a yes, and the reason says which.
        ("ls; cat /etc/passwd", "shell syntax (';')"),
        ("ls && id", "shell syntax ('&')"),
        ("ls | sh", "shell syntax ('|')"),
        ("cat $HOME/../x", "shell syntax ('$')"),
        ("cat `id`", "shell syntax ('`')"),
        ("cat > out.txt", "shell syntax ('>')"),
        ("cat < /etc/passwd", "shell syntax ('<')"),
        ("cat 'x'", 'shell syntax ("\'")'),
        ('cat "x"', "shell syntax ('\"')"),
        ("cat \\x", "shell syntax ('\\\\')"),
        ("cat [ab]", "shell syntax ('[')"),
        ("cat x]", "shell syntax (']')"),
        ("ls {a,b}", "shell syntax ('{')"),
        ("cat !x", "shell syntax ('!')"),
        ("cat x #", "shell syntax ('#')"),
        ("cat x^y", "shell syntax ('^')"),
        ("cat (x)", "shell syntax ('(')"),
        ("cat x\ny", "shell syntax ('\\n')"),
        ("cat x\ry", "shell syntax ('\\r')"),
        ("cat\x0b../x", "shell syntax ('\\x0b')"),
        ("cat x\x00", "shell syntax ('\\x00')"),
        ("cat x\x7f", "shell syntax ('\\x7f')"),
        ("cat x\x1f", "shell syntax ('\\x1f')"),
        # Entries match whole words.
        ("catx notes.txt", NOT_LISTED),
        ("lsblk", NOT_LISTED),
        ("./cat notes.txt", NOT_LISTED),
        ("/bin/cat notes.txt", NOT_LISTED),
        ("FOO=1 cat notes.txt", NOT_LISTED),
        ("rm notes.txt", NOT_LISTED),
        # Paths leaving the folder, in many spellings.
        ("cat ../../.env", "the argument `../../.env` reaches outside your work folder"),
        ("cat ..", "`..` reaches outside"),
        ("cat notes/../../x", "`notes/../../x` reaches outside"),
        ("cat ./../x", "`./../x` reaches outside"),
        ("cat /etc/passwd", "`/etc/passwd` reaches outside your work folder (to /etc/passwd)"),
        ("cat //etc/passwd", "`//etc/passwd` reaches outside"),
        ("cat /", "`/` reaches outside"),
        ("cat inner/../../x", "`inner/../../x` reaches outside"),
        ("cat notes.txt ../x", "`../x` reaches outside"),
        ("ls -la ..", "`..` reaches outside"),
        ("grep -r milk ..", "`..` reaches outside"),
        ("grep -f../x notes.txt", "`-f../x` reaches outside"),
        (
            "grep -f/etc/passwd notes.txt",
            "`-f/etc/passwd` reaches outside your work folder (to /etc/passwd)",
        ),
        ("grep -rf/etc/passwd .", "`-rf/etc/passwd` reaches outside"),
        ("grep -xf.././x notes.txt", "`-xf.././x` reaches outside"),
        ("grep --file=../../.env x", "`--file=../../.env` reaches outside"),
        ("grep --file=/etc/passwd x", "`--file=/etc/passwd` reaches outside"),
        ("grep -e x --exclude-from=notes.txt,/etc/passwd .", "reaches outside"),
        ("cat file:///etc/passwd", "`file:///etc/passwd` reaches outside"),
        ("cat x@/etc/passwd", "`x@/etc/passwd` reaches outside"),
        ("cat --x/etc/passwd", "`--x/etc/passwd` reaches outside"),
        ("wc --files0-from=/proc/self/environ", "reaches outside your work folder (to /proc/"),
        (
            "cat /proc/self/environ",
            "`/proc/self/environ` reaches outside your work folder (to /proc/",
        ),
        ("cat /proc/1/environ", "(to /proc/1/environ)"),
        ("cat /proc/thread-self/environ", "`/proc/thread-self/environ` reaches outside"),
        ("head -c 64 /sys/kernel/notes", "(to /sys/kernel/notes)"),
        ("head -c 8 /dev/urandom", "(to /dev/urandom)"),
        ("cat ../../../../../../../../proc/self/environ", "(to /proc/"),
        ("cat /tmp/../proc/self/environ", "(to /proc/"),
        ("ls ~/..", "`~/..` reaches outside"),
        ("cat ~root/.ssh/id_rsa", "`~root/.ssh/id_rsa` uses `~` in a way I do not check"),
        ("cat x~/..", "uses `~`"),
        ("cat ~/x~", "uses `~`"),
        ("grep --file=~/x y", "uses `~`"),
        # Globs are expanded as the shell would, and what they match is checked.
        ("cat .*", "the pattern `.*` could climb out"),
        ("cat notes/.?", "the pattern `notes/.?` could climb out"),
        ("cat */../../x*", "the pattern `*/../../x*` could climb out"),
        ("cat /etc/*", "the pattern `/etc/*` starts outside your work folder"),
        ("cat ../*", "the pattern `../*` could climb out"),
        ("cat /proc/*/environ", "the pattern `/proc/*/environ` starts outside"),
        ("cat ~/../*", "could climb out"),
        # Programs that run others whatever they are given.
        ("env sh -c id", "`env` can run other programs or write files wherever it is told"),
        ("env -i cat x", "`env` can run"),
        ("sed 1eid notes.txt", "`sed` can run"),
        # Options that run programs or write files.
        ("find . -delete", "the option `-delete` of find can run programs or write files"),
        ("find . -exec", "`-exec` of find"),
        ("find . -execdir ls", "`-execdir` of find"),
        ("find . -ok ls", "`-ok` of find"),
        ("find . -fprint out.txt", "`-fprint` of find"),
        ("find . -fprintf out.txt %p", "`-fprintf` of find"),
        ("find . -fls out.txt", "`-fls` of find"),
        ("git -c core.pager=id log", "the option `-c` of git"),
        ("git -ccore.pager=id log", "the option `-ccore.pager=id` of git"),
        ("git --config-env=core.pager=X log", "`--config-env=core.pager=X` of git"),
        ("git --config-e=core.pager=X log", "(--config-env)"),
        ("git --exec-path=bin log", "`--exec-path=bin` of git"),
        ("git grep -Ocat milk", "`-Ocat` of git"),
        ("git grep --open-files-in-pager=id milk", "(--open-files-in-pager)"),
        ("git log --output=out.txt", "(--output)"),
        ("git diff --ext-diff", "(--ext-diff)"),
        ("git log --textconv", "(--textconv)"),
        ("sort --compress-program=sh notes.txt", "the option `--compress-program=sh` of sort"),
        ("sort --compress-prog=sh notes.txt", "(--compress-program)"),
        ("sort --c=sh notes.txt", "(--compress-program)"),
        ("date -s 2020-01-01", "`-s` of date"),
        ("date --set=2020-01-01", "(--set)"),
        # git runs only its reading subcommands.
        ("git config core.fsmonitor id", "`git config` is not one of the git subcommands"),
        ("git clone repo", "`git clone` is not one of"),
        ("git clone https://example.com/r", "`https://example.com/r` reaches outside"),
        ("git stash", "`git stash` is not one of"),
        ("git statusx", "`git statusx` is not one of"),
        ("git -C notes config x y", "`git notes` is not one of"),
        # Too long to check.
        (
            "cat " + "a" * (MAX_CHECKED_LENGTH - 3),
            f"longer than the {MAX_CHECKED_LENGTH} characters",
        ),
    ],
)
def test_what_runs_unasked(folder: Folder, command: str, reason: str | None) -> None:
    found = needs_yes(command, ALLOWLIST, folder)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found, found


def test_entries_are_whole_words_and_the_longest_wins(folder: Folder) -> None:
    allowlist = Allowlist(["git status", "cat", " ", "git status --short"])
    assert allowlist.entries == [("git", "status"), ("cat",), ("git", "status", "--short")]
    assert allowlist.match(["git", "status"]) == 2
    assert allowlist.match(["git", "status", "--short", "x"]) == 3
    assert allowlist.match(["git", "statusx"]) is None
    assert allowlist.match(["git", "stash"]) is None
    assert allowlist.match(["git"]) is None
    assert allowlist.match(["catx"]) is None
    assert Allowlist([]).match(["ls"]) is None
    for command in ["git status", "git status --short", "git status -s notes"]:
        assert needs_yes(command, allowlist, folder) is None, command
    for command in ["git statusx", "git stash", "git", "git log", "gitstatus"]:
        assert needs_yes(command, allowlist, folder) == NOT_LISTED, command


def test_the_admin_entry_itself_is_trusted(folder: Folder) -> None:
    """Words of the entry are the admin's choice; only what the model adds is checked."""
    allowlist = Allowlist(["cat /etc/hostname", "env"])
    assert needs_yes("cat /etc/hostname", allowlist, folder) is None
    assert needs_yes("cat /etc/hostname /etc/passwd", allowlist, folder) is not None
    assert needs_yes("env", allowlist, folder) is None


def test_a_glob_may_not_smuggle_options_or_links(folder: Folder) -> None:
    work = folder.path
    (work / "-rf").write_text("")
    assert needs_yes("ls *", ALLOWLIST, folder) == (
        "the pattern `*` matches `-rf`, which ls would read as an option"
    )
    assert needs_yes("ls notes/*", ALLOWLIST, folder) is None  # notes/-x is not an option
    (work / "notes" / "-x").write_text("")
    assert needs_yes("ls notes/*", ALLOWLIST, folder) is None
    (work / "-rf").unlink()
    for n in range(MAX_GLOB_MATCHES + 1):
        (work / "notes" / f"f{n}").write_text("")
    assert needs_yes("ls notes/f*", ALLOWLIST, folder) == (
        f"the pattern `notes/f*` matches more than {MAX_GLOB_MATCHES} files"
    )
    assert needs_yes("ls notes/f1?", ALLOWLIST, folder) is None
    (work / "notes" / "f0").unlink()  # exactly the limit
    assert needs_yes("ls notes/f*", ALLOWLIST, folder) is None


def test_a_glob_match_leading_out_is_named(tmp_path: Path) -> None:
    # The folder scan would also refuse this folder; the glob check names the match first.
    work = tmp_path / "w"
    work.mkdir()
    (work / "out").symlink_to(tmp_path)
    assert needs_yes("cat o*", ALLOWLIST, Folder(work)) == (
        "the pattern `o*` matches `out`, which leads outside your work folder"
    )


@pytest.mark.parametrize("target", ["/etc", "/proc/self", "../../..", "../../../other", "/"])
def test_a_link_out_of_the_folder_makes_every_command_ask(folder: Folder, target: str) -> None:
    (folder.path / "notes" / "deep").mkdir()
    (folder.path / "notes" / "deep" / "way-out").symlink_to(target)
    reason = needs_yes("grep -R milk .", ALLOWLIST, folder)
    assert reason == "your work folder holds `notes/deep/way-out`, a link to outside it"
    assert needs_yes("cat notes.txt", ALLOWLIST, folder) == reason
    assert needs_yes("cat notes/deep/way-out/passwd", ALLOWLIST, folder) is not None


def test_hard_links_devices_and_pipes_make_every_command_ask(
    folder: Folder, tmp_path: Path
) -> None:
    os.link(tmp_path / ".env", folder.path / "env-copy")
    assert needs_yes("cat notes.txt", ALLOWLIST, folder) == (
        "your work folder holds `env-copy`, a hard link (maybe to a file outside)"
    )
    (folder.path / "env-copy").unlink()
    assert needs_yes("cat notes.txt", ALLOWLIST, folder) is None
    os.mkfifo(folder.path / "notes" / "pipe")
    assert needs_yes("cat notes.txt", ALLOWLIST, folder) == (
        "your work folder holds `notes/pipe`, a device, socket or pipe"
    )


def test_a_folder_too_big_to_check_asks(folder: Folder) -> None:
    many = folder.path / "many"
    many.mkdir()
    # With notes, notes.txt, notes/a.md, inner and many: one more than the limit.
    for n in range(MAX_FOLDER_ENTRIES - 4):
        (many / str(n)).mkdir()
    assert needs_yes("ls", ALLOWLIST, folder) == (
        f"your work folder holds more than {MAX_FOLDER_ENTRIES} files to check"
    )
    (many / "0").rmdir()
    assert needs_yes("ls", ALLOWLIST, folder) is None


def test_a_folder_reached_through_a_link_is_judged_by_its_real_place(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "notes").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(real)
    folder = Folder(tmp_path / "alias")
    assert folder.real == str(real)
    assert needs_yes("cat notes", ALLOWLIST, folder) is None
    assert needs_yes(f"cat {real}/notes", ALLOWLIST, folder) is None
    assert needs_yes(f"cat {real}x", ALLOWLIST, folder) is not None  # a sibling, not inside
    assert needs_yes("cat ../real", ALLOWLIST, folder) is None  # the folder itself
    assert needs_yes("cat ..", ALLOWLIST, folder) is not None


def test_helpers() -> None:
    assert words(" ls \t -la  x ") == ["ls", "-la", "x"]
    assert words("a\u00a0b c") == ["a\u00a0b", "c"]  # sh does not split on other spaces
    assert syntax("ls -la notes") is None and syntax("ls\t-la") is None
    assert syntax("ls ~/*.md x?") is None
    assert program_name("/usr/bin/python3.12") == "python"
    assert program_name("sha256sum") == "sha256sum"
    assert program_name("7z") == "7z"
    assert program_name("git") == "git"


@pytest.mark.parametrize(
    ("command", "reads"),
    [
        ("cat notes.txt", True),
        ("grep -rn milk .", True),
        ("git log", True),
        ("env", True),  # a runner given nothing prints and exits
        ("env ls", False),
        ("touch x", False),
        ("mkdir drafts", False),
        ("cp a b", False),
        ("", False),
    ],
)
def test_which_commands_only_read(command: str, reads: bool) -> None:
    assert only_reads(command) is reads
