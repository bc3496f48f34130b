"""Who may talk to the assistant: owners everywhere, plus each platform's allowlist."""

from __future__ import annotations

from collections.abc import Iterable


def refusal(platform: str, sender_id: str) -> str:
    return (
        "Sorry, this is a private assistant and you are not on its list of people it talks "
        f"to. If you know its owner, ask them to add your ID: {platform}:{sender_id}"
    )


class AccessPolicy:
    """Owners are `platform:id` entries of CLAWLING_OWNERS; the allowlist holds ids or
    @usernames for one platform. An empty allowlist admits only owners."""

    def __init__(self, platform: str, allowed: Iterable[str], owners: Iterable[str]) -> None:
        self.platform = platform
        prefix = f"{platform}:"
        entries = [a.strip() for a in allowed if a.strip()]
        entries += [o.strip()[len(prefix) :] for o in owners if o.strip().startswith(prefix)]
        self._ids = {e for e in entries if e and not e.startswith("@")}
        # A lone "@" names nobody: it must not admit everyone without a username.
        self._usernames = {e[1:].lower() for e in entries if e.startswith("@") and e[1:]}

    def allows(self, sender_id: str, username: str | None = None) -> bool:
        if sender_id in self._ids:
            return True
        if not username:
            return False
        return username.lstrip("@").lower() in self._usernames

    @property
    def is_empty(self) -> bool:
        return not self._ids and not self._usernames
