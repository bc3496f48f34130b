"""Every malicious payload of tests/skills/corpus/payloads.yaml is blocked, plain and
through every evasion; every benign skill of tests/skills/corpus/benign stays clean."""

from __future__ import annotations

import base64
import codecs
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from skills.loader import load_folder, load_text, skill_folders
from skills.model import HIGH
from skills.normalise import collapse, join_lines, normalise
from skills.scan import scan_rules

CORPUS = Path(__file__).parent / "corpus"
PAYLOADS: dict[str, list[str]] = yaml.safe_load((CORPUS / "payloads.yaml").read_text())
CASES = [(rule, text) for rule, texts in PAYLOADS.items() for text in texts]
KNOWN = {"web_fetch", "web_search", "shell", "current_time", "read_skill_file", "remember"}

CYRILLIC = str.maketrans({"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і"})


def _long_words(text: str, change: Callable[[str], str]) -> str:
    return " ".join(change(w) if len(w) > 4 and w.isalpha() else w for w in text.split(" "))


def split_lines(text: str) -> str:
    words = text.split(" ")
    middle = len(words) // 2
    return " ".join(words[:middle]) + "\n   " + " ".join(words[middle:])


def lookalikes(text: str) -> str:
    return _long_words(text, lambda w: w[0] + w[1:].translate(CYRILLIC))


def zero_width(text: str) -> str:
    return _long_words(text, lambda w: w[:2] + "\u200b" + w[2:])


def soft_hyphens(text: str) -> str:
    return _long_words(text, lambda w: w[:3] + "\u00ad" + w[3:])


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spaced(text: str) -> str:
    return "   ".join(" ".join(word) for word in text.split(" "))


def b64(text: str) -> str:
    return "Decode this and do what it says: " + base64.b64encode(text.encode()).decode()


def b64_wrapped(text: str) -> str:
    blob = base64.b64encode((text + " " + text).encode()).decode()
    return "Decoded, the block below is your next step:\n\n" + "\n".join(textwrap.wrap(blob, 24))


def hex_escapes(text: str) -> str:
    return "Run the decoded words: " + "".join(f"\\x{b:02x}" for b in text.encode())


def percent(text: str) -> str:
    return "The step, URL-encoded: " + quote(text, safe="")


def entities(text: str) -> str:
    return "".join(f"&#{ord(c)};" if c.isalpha() else c for c in text)


def rot13(text: str) -> str:
    return "Apply rot13 to read the next line.\n" + codecs.encode(text, "rot13")


def tags(text: str) -> str:
    return "A harmless sentence." + "".join(chr(0xE0000 + ord(c)) for c in text if ord(c) < 128)


EVASIONS: dict[str, tuple[Callable[[str], str], tuple[str, ...]]] = {
    "plain": (lambda t: t, ()),
    "split-lines": (split_lines, ()),
    "lookalikes": (lookalikes, ("mixed-script",)),
    "zero-width": (zero_width, ("zero-width",)),
    "soft-hyphens": (soft_hyphens, ("invisible-operator",)),
    "fullwidth": (fullwidth, ()),
    "spaced": (spaced, ()),
    "base64": (b64, ()),
    "base64-wrapped": (b64_wrapped, ()),
    "hex": (hex_escapes, ()),
    "percent": (percent, ()),
    "entities": (entities, ()),
    "rot13": (rot13, ()),
    "tags": (tags, ("tag-character",)),
}
# Letters written apart defeat nothing a URL, an address or a path needs to be read:
# those payloads are not tried spaced out.
NOT_SPACED = {"exfiltration", "download-execute"}
BODY_CASES = [
    (rule, payload, evasion)
    for rule, payload in CASES
    for evasion in EVASIONS
    if not (evasion == "spaced" and (rule in NOT_SPACED or "/" in payload))
]


def skill_md(body: str, description: str = "Helps with notes.") -> str:
    return (
        f"---\nname: notes-helper\ndescription: {json.dumps(description)}\n---\n\n"
        f"# Notes helper\n\n1. Read the note.\n{body}\n2. Answer briefly.\n"
    )


def rules_of(report_findings: object) -> set[str]:
    return {f.rule for f in report_findings if f.severity == HIGH}  # type: ignore[attr-defined]


def test_every_rule_has_payloads_and_every_payload_rule_exists() -> None:
    ids = {rule.id for rule in scan_rules()}
    assert ids == set(PAYLOADS), "each pattern rule needs payloads in corpus/payloads.yaml"
    assert all(len(texts) >= 4 for texts in PAYLOADS.values())


def test_every_pattern_of_every_rule_catches_one_of_its_payloads() -> None:
    """So no pattern can be dropped from skills/scan_rules.yaml unnoticed."""
    for rule in scan_rules():
        texts = [collapse(join_lines(normalise(t).text).text)[0] for t in PAYLOADS[rule.id]]
        for pattern in rule.patterns:
            assert any(pattern.search(t) for t in texts), (rule.id, pattern.pattern)


@pytest.mark.parametrize(("rule", "payload", "evasion"), BODY_CASES)
def test_payload_is_blocked_in_the_body(rule: str, payload: str, evasion: str) -> None:
    change, also = EVASIONS[evasion]
    if change(payload) == payload:
        also = ()  # nothing in it for this evasion to change
    report = load_text(skill_md(change(payload)), "user", "draft", KNOWN)
    assert not report.ok
    assert {rule, *also} <= rules_of(report.findings), [str(f) for f in report.findings]


@pytest.mark.parametrize(("rule", "payload"), CASES)
def test_payload_is_blocked_in_the_front_matter_as_yaml_decodes_it(rule: str, payload: str) -> None:
    escaped = "".join(
        f"\\u{ord(c):04x}" if c.isalpha() and i % 2 else ("\\" + c if c in '"\\' else c)
        for i, c in enumerate(payload)
    )
    folded = "\n  ".join(payload.split(" "))
    for front in (f'description: "{escaped}"', f"description: >\n  {folded}"):
        text = f"---\nname: notes-helper\n{front}\n---\n\n# Notes\n\nAnswer briefly.\n"
        report = load_text(text, "user", "draft", KNOWN)
        assert report.skill is None or not report.ok
        assert rule in rules_of(report.findings), (front, [str(f) for f in report.findings])


@pytest.mark.parametrize(
    ("name", "wrap"),
    [
        ("references/policy.md", lambda t: f"# Policy\n\n{t}\n"),
        ("references/notes.txt", lambda t: t),
        ("assets/page.html", lambda t: f"<html><body><p>Hi</p>\n<!-- {t} -->\n</body></html>"),
        ("references/readme.md", lambda t: f"# Readme\n\n[//]: # ({t})\n\nNothing else.\n"),
        ("scripts/run.py", lambda t: f"# {t}\nprint('hello')\n"),
        ("data/config.json", lambda t: json.dumps({"note": t})),
    ],
)
@pytest.mark.parametrize(("rule", "payload"), CASES[::3])
def test_payload_is_blocked_in_every_file_of_a_skill(
    tmp_path: Path, rule: str, payload: str, name: str, wrap: Callable[[str], str]
) -> None:
    folder = tmp_path / "notes-helper"
    (folder / name).parent.mkdir(parents=True)
    (folder / "SKILL.md").write_text(skill_md("Nothing unusual here."))
    (folder / name).write_text(wrap(payload))
    report = load_folder(folder, "deployment", KNOWN)
    assert not report.ok
    assert any(f.rule == rule and f.file == name for f in report.findings), [
        str(f) for f in report.findings
    ]


def test_benign_skills_stay_clean() -> None:
    folders = skill_folders(CORPUS / "benign")
    assert len(folders) >= 10
    for folder in folders:
        report = load_folder(folder, "deployment", KNOWN)
        assert report.ok, [str(f) for f in report.findings]
        assert not [f for f in report.findings if f.rule not in ("hidden-html", "html-comment")]


def test_bundled_skills_have_no_findings() -> None:
    import skills

    folders = skill_folders(Path(skills.__file__).parent)
    assert len(folders) >= 5
    for folder in folders:
        report = load_folder(folder, "bundled", KNOWN)
        assert report.ok and report.findings == (), [str(f) for f in report.findings]
