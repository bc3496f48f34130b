"""Who a platform's allowlist names: its ids and @usernames, plus the owners listed for
that platform; nobody else (the doorman then stores them as people)."""

from __future__ import annotations

import pytest

from bot.people.doorman import Allowlist, refusal


def policy() -> Allowlist:
    return Allowlist(
        "telegram",
        ["111", " 222 ", "@Ana_Bot", "", "  ", "@", "@q", "@xena"],
        ["telegram:999", " telegram:888 ", "slack:U777", "telegram:@Boss", "telegramx:555"],
    )


@pytest.mark.parametrize(
    ("sender", "username", "allowed", "why"),
    [
        ("111", None, True, "listed id"),
        ("222", None, True, "listed id, spaces around it in the setting"),
        ("333", None, False, "not listed"),
        ("1111", None, False, "ids match whole, not by prefix"),
        ("11", None, False, "ids match whole, not as a part"),
        (" 111", None, False, "the sender id is taken as given"),
        ("999", None, True, "owner of this platform"),
        ("888", None, True, "owner, spaces around the entry"),
        ("U777", None, False, "owner on another platform only"),
        ("slack:U777", None, False, "the platform prefix is not an id"),
        ("555", None, False, "a platform whose name only starts like this one"),
        ("telegram:999", None, False, "the owner entry as a whole is not an id"),
        ("444", "ana_bot", True, "listed @username, case-insensitive"),
        ("444", "@ANA_BOT", True, "a username given with its @"),
        ("444", "ana_bo", False, "usernames match whole"),
        ("444", "ana_bot2", False, "usernames match whole"),
        ("444", "boss", True, "owner by @username"),
        ("444", None, False, "no username: only the id counts"),
        ("444", "q", True, "a one-letter username"),
        ("444", "Xena", True, "a username starting with X"),
        ("444", "@@xena", True, "any @ in front is dropped"),
        ("444", "", False, "an empty username matches nothing (the lone @ entry)"),
        ("@ana_bot", None, False, "a username is never an id"),
        ("", None, False, "empty sender"),
        ("", "", False, "empty sender and username"),
    ],
)
def test_who_is_allowed(sender: str, username: str | None, allowed: bool, why: str) -> None:
    assert policy().allows(sender, username) is allowed, why


def test_an_empty_allowlist_names_only_owners() -> None:
    nobody = Allowlist("slack", [], [])
    assert not nobody.allows("U1", "u1")
    others = Allowlist("slack", [" ", ""], ["telegram:1"])
    assert not others.allows("1")
    owner = Allowlist("slack", [], ["slack:U1"])
    assert owner.allows("U1") and not owner.allows("U2")
    by_name = Allowlist("slack", ["@ana"], [])
    assert by_name.allows("U9", "Ana")
    blank_owner = Allowlist("slack", [], ["slack:", "slack:@"])
    assert not blank_owner.allows("", "") and not blank_owner.allows("", "@")


def test_the_refusal_names_the_id_to_add() -> None:
    assert refusal("slack", "U123") == (
        "Sorry, this is a private assistant and you are not on its list of people it talks "
        "to. If you know its owner, ask them to add your ID: slack:U123"
    )
