"""The people the bot deals with, as Slack names them. Pure.

A user id is `U` (or `W` on Enterprise Grid) and upper-case letters and
digits. BOT_ADMINS is checked against this shape at start-up, and only a
well-formed id is ever turned into a mention, so a `<!channel>` or a link
cannot hide inside something that claims to be a user.
"""

from __future__ import annotations

import re

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def is_user_id(text: str) -> bool:
    return _USER_ID.fullmatch(text) is not None
