"""FakeSlack's files: the three steps of ``files_upload_v2`` and the files they shared.

What slack_sdk 3.48's ``AsyncWebClient.files_upload_v2`` sends, per file and then once:

1. ``files.getUploadURLExternal``: a POST with an empty form-typed body and the arguments in
   the query string: ``filename``, ``length`` (the byte count, a decimal string) and, when
   given, ``alt_txt`` and ``snippet_type``. Slack answers ``upload_url`` and ``file_id``.
2. A POST to ``upload_url`` whose body is the raw bytes, ``Content-Type:
   application/octet-stream`` (aiohttp's default for a bytes body), with no Authorization
   header: the URL is the credential. Slack answers 200 ``text/plain`` "OK - <length>";
   on any other status slack_sdk raises ``SlackRequestError``, not ``SlackApiError``.
   Slack also takes multipart/form-data here, and so does the fake.
3. ``files.completeUploadExternal``: query-string arguments on an empty form body again:
   ``files`` (a JSON string, ``[{"id": ..., "title": ...}]``), ``channel_id`` or
   ``channels`` (comma-separated), ``initial_comment`` and ``thread_ts``. Slack answers
   ``{"ok": true, "files": [...]}``.

Sharing into a channel needs the bot in it, whatever scopes it holds (there is no
``files:write.public``), so the fake answers ``not_in_channel`` for a channel the bot has
not joined (conversations.join) or opened (conversations.open, for a DM).

Two choices of the fake where Slack documents nothing: a file whose uploaded bytes do not
add up to the ``length`` announced fails to complete with ``file_upload_size_mismatch``,
and an upload completes once: completing its id again, or posting to its URL again, finds
nothing (``file_not_found``, 404).
"""

from __future__ import annotations

import itertools
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["UPLOAD", "FileStore", "FileUpload", "SharedFile", "UploadRefused"]

# The pseudo method name under which fail_next() and set_latency() target upload posts.
UPLOAD: Final = "upload"
UPLOAD_PATH: Final = "/upload/"

Params = dict[str, Any]
Result = dict[str, Any]


@dataclass(frozen=True)
class SharedFile:
    """One completed file, once per channel it went to (once, channel None, if to none)."""

    file_id: str
    filename: str  # as announced to files.getUploadURLExternal
    title: str  # from files.completeUploadExternal; the filename when it gave none
    channel: str | None  # None: completed without a channel, so private to the bot
    initial_comment: str | None
    thread_ts: str | None
    ts: str | None  # the file-share message's ts in ``channel``; None when not shared
    bytes: bytes  # exactly what was uploaded


@dataclass(frozen=True)
class FileUpload:
    """One POST to an upload URL, as it came and as it was answered."""

    file_id: str
    size: int  # bytes received (the file field's, for multipart)
    content_type: str  # as sent, e.g. "application/octet-stream"
    headers: dict[str, str]  # everything except Authorization
    status: int  # the HTTP status answered
    at: float  # time.monotonic() on arrival


class UploadRefused(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _Pending:
    file_id: str
    filename: str
    length: int
    data: bytes | None = None  # None until uploaded


class FileStore:
    """Upload sessions and shared files. Not thread-safe: FakeSlack calls it locked."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self.shared: list[SharedFile] = []
        self.uploads: list[FileUpload] = []

    def get_upload_url(self, params: Params, base_url: str) -> Result:
        """files.getUploadURLExternal."""
        filename = params.get("filename")
        length = _length(params.get("length"))
        if not isinstance(filename, str) or not filename or length is None:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self._pending[file_id] = _Pending(file_id, filename, length)
        return {"ok": True, "upload_url": f"{base_url}{UPLOAD_PATH}{file_id}", "file_id": file_id}

    def receive(self, file_id: str, data: bytes) -> bool:
        """Keep an upload's bytes (the last ones, if posted twice); False for an unknown id."""
        pending = self._pending.get(file_id)
        if pending is None:
            return False
        pending.data = data
        return True

    def complete(
        self,
        params: Params,
        is_member: Callable[[str], bool],
        share: Callable[[str, Params], str],
    ) -> Result:
        """files.completeUploadExternal.

        ``share(channel, message)`` posts the file-share message and returns its ts.
        """
        try:
            entries = _file_entries(params.get("files"))
            channels = _channels(params)
        except UploadRefused as refused:
            return {"ok": False, "error": refused.error}
        thread_ts = _text(params.get("thread_ts"))
        if thread_ts is not None and len(channels) > 1:
            # Slack: a reply goes to one channel only.
            return {"ok": False, "error": "invalid_arguments"}
        files: list[tuple[_Pending, bytes, str]] = []
        for file_id, title in entries:
            pending = self._pending.get(file_id)
            if pending is None or pending.data is None:
                return {"ok": False, "error": "file_not_found"}
            if len(pending.data) != pending.length:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            files.append((pending, pending.data, title or pending.filename))
        if not all(is_member(channel) for channel in channels):
            return {"ok": False, "error": "not_in_channel"}
        comment = _text(params.get("initial_comment"))
        summaries = [_summary(pending, title, data) for pending, data, title in files]
        targets: list[str | None] = [*channels] or [None]
        for target in targets:
            ts = None
            if target is not None:
                message: Params = {
                    "subtype": "file_share",
                    "text": comment or "",
                    "files": summaries,
                    "upload": True,
                }
                if thread_ts is not None:
                    message["thread_ts"] = thread_ts
                ts = share(target, message)
            self.shared.extend(
                SharedFile(
                    file_id=pending.file_id,
                    filename=pending.filename,
                    title=title,
                    channel=target,
                    initial_comment=comment,
                    thread_ts=thread_ts,
                    ts=ts,
                    bytes=data,
                )
                for pending, data, title in files
            )
        for pending, _, _ in files:
            self._pending.pop(pending.file_id, None)
        return {"ok": True, "files": summaries}

    def files(self, channel: str | None = None) -> list[SharedFile]:
        return [f for f in self.shared if channel is None or f.channel == channel]


def _length(value: Any) -> int | None:
    """``length`` as a byte count: an int, or its decimal string from the query string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _file_entries(value: Any) -> list[tuple[str, str | None]]:
    """``files`` (already JSON-decoded by _read_params) as (id, title) pairs."""
    if isinstance(value, str):
        # Decoded already when it was JSON; a string left over is not.
        raise UploadRefused("invalid_arguments")
    if not isinstance(value, list) or not value:
        raise UploadRefused("invalid_arguments")
    entries: list[tuple[str, str | None]] = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise UploadRefused("invalid_arguments")
        entries.append((entry["id"], _text(entry.get("title"))))
    return entries


def _channels(params: Params) -> list[str]:
    """channel_id, then the comma-separated channels, without repeats."""
    found: list[str] = []
    channel_id = _text(params.get("channel_id"))
    if channel_id is not None:
        found.append(channel_id)
    channels = params.get("channels")
    if isinstance(channels, str):
        found.extend(c.strip() for c in channels.split(",") if c.strip())
    elif channels is not None:
        raise UploadRefused("invalid_arguments")
    return list(dict.fromkeys(found))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _summary(pending: _Pending, title: str, data: bytes) -> Result:
    """The file object Slack answers (the fields a client might read)."""
    return {
        "id": pending.file_id,
        "created": int(time.time()),
        "name": pending.filename,
        "title": title,
        "mimetype": mimetypes.guess_type(pending.filename)[0] or "application/octet-stream",
        "size": len(data),
    }
