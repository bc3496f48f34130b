"""`clawling users …`: the people who may use the assistant, administered from the
command line (the same rules as the owners' chat commands). The group is defined in
`group.py`; each module here adds its commands to it (`admin.py`: list, show, block,
unblock, role, remove)."""

from bot.cli.users import admin as _admin  # noqa: F401 - registers its commands
from bot.cli.users import pairing as _pairing  # noqa: F401 - registers allow, deny, pending
from bot.cli.users import quota as _quota  # noqa: F401 - registers `users quota`
from bot.cli.users.group import users_cli

__all__ = ["users_cli"]
