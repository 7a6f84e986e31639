"""FakeSlack's modals: views.open and views.update.

What slack_sdk 3.48 sends: ``views_open(trigger_id=..., view=...)`` and
``views_update(view=..., view_id=... | external_id=..., hash=...)`` post a JSON body, the
view as an object (a form body carries it as a JSON string; FakeSlack decodes either).

As on Slack:

- A ``trigger_id`` opens one modal: using it again is ``exchanged_trigger_id``, and one
  the test marked with ``FakeSlack.expire_trigger`` (Slack's 3 seconds went by) is
  ``expired_trigger_id``. A missing or blank one is ``invalid_arguments``, and so is a view
  that is not ``{"type": "modal", "title": {...}, "blocks": [...]}``.
- The answer is ``{"ok": true, "view": {...}}``: the view as sent, with an ``id``
  (``VM0000001``, ``VM0000002``, ...), a fresh ``hash``, the ``team_id`` of the workspace
  whose token opened it and empty ``state.values``.
- views.update takes exactly one of ``view_id`` and ``external_id`` (else
  ``invalid_arguments``), finds only modals of the caller's workspace (else ``not_found``)
  and, given a ``hash``, refuses a stale one with ``hash_conflict``. The view keeps its id
  and, unless the new view names another, its ``external_id``; it gets a new hash. An
  ``external_id`` is unique per workspace (``duplicate_external_id``).
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from typing import Any, TypeGuard

__all__ = ["ModalStore"]

Params = dict[str, Any]
Result = dict[str, Any]


class ModalStore:
    """Modals opened, by view id, each as last opened or updated; the triggers used.

    Not thread-safe: FakeSlack calls it locked.
    """

    def __init__(self, app_id: str, bot_id: str) -> None:
        self._app_id = app_id
        self._bot_id = bot_id
        self._ids = itertools.count(1)
        self.views: dict[str, dict[str, Any]] = {}
        self.expired: set[str] = set()
        self._exchanged: set[str] = set()

    def open(self, params: Params, team_id: str) -> Result:
        """views.open, by a token of workspace ``team_id``."""
        trigger_id, view = params.get("trigger_id"), params.get("view")
        if not isinstance(trigger_id, str) or not trigger_id.strip() or not _is_modal(view):
            return {"ok": False, "error": "invalid_arguments"}
        if trigger_id in self.expired:
            return {"ok": False, "error": "expired_trigger_id"}
        if trigger_id in self._exchanged:
            return {"ok": False, "error": "exchanged_trigger_id"}
        if self._by_external_id(view.get("external_id"), team_id) is not None:
            return {"ok": False, "error": "duplicate_external_id"}
        self._exchanged.add(trigger_id)
        view_id = f"VM{next(self._ids):07d}"
        self.views[view_id] = self._stored(view_id, view, team_id)
        return {"ok": True, "view": copy.deepcopy(self.views[view_id])}

    def update(self, params: Params, team_id: str) -> Result:
        """views.update, by a token of workspace ``team_id``."""
        view_id, external_id, view = (
            params.get("view_id"),
            params.get("external_id"),
            params.get("view"),
        )
        if bool(view_id) == bool(external_id) or not _is_modal(view):
            return {"ok": False, "error": "invalid_arguments"}
        if view_id:
            current = self.views.get(str(view_id))
            if current is not None and current["team_id"] != team_id:
                current = None  # another workspace's modal
        else:
            current = self._by_external_id(external_id, team_id)
        if current is None:
            return {"ok": False, "error": "not_found"}
        expected = params.get("hash")
        if expected and expected != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        other = self._by_external_id(view.get("external_id"), team_id)
        if other is not None and other["id"] != current["id"]:
            return {"ok": False, "error": "duplicate_external_id"}
        # The view keeps its external id unless the new one names another.
        updated = self._stored(
            current["id"], {"external_id": current["external_id"], **view}, team_id
        )
        self.views[current["id"]] = updated
        return {"ok": True, "view": copy.deepcopy(updated)}

    def _by_external_id(self, external_id: Any, team_id: str) -> dict[str, Any] | None:
        if not isinstance(external_id, str) or not external_id:
            return None
        for view in self.views.values():
            if view["external_id"] == external_id and view["team_id"] == team_id:
                return view
        return None

    def _stored(self, view_id: str, view: dict[str, Any], team_id: str) -> dict[str, Any]:
        """The view as Slack answers it: what was sent, and the fields Slack adds."""
        return {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "submit": None,
            "close": None,
            **copy.deepcopy(view),
            "id": view_id,
            "team_id": team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self._app_id,
            "app_installed_team_id": team_id,
            "bot_id": self._bot_id,
        }


def _is_modal(view: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(view, dict)
        and view.get("type") == "modal"
        and isinstance(view.get("blocks"), list)
        and isinstance(view.get("title"), dict)
    )
