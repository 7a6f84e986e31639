"""FakeSlack answers slack_sdk's clients the way Slack does, and records what they sent."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import (
    DEFAULT_APP_TOKEN,
    DEFAULT_TOKEN,
    RESPONSE_URL,
    UPLOAD,
    FakeSlack,
    SharedFile,
)

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
BEARER = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.api_url)


# ----- Web API through slack_sdk ----------------------------------------------------------


async def test_auth_test_identifies_the_bot(client: AsyncWebClient) -> None:
    response = await client.auth_test()

    assert response["ok"] is True
    assert (response["user_id"], response["bot_id"]) == ("UBOT", "BBOT")
    assert response["team_id"]
    assert response["url"]


async def test_post_message_returns_fresh_increasing_timestamps(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C1", text="one", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="C1", text="two")

    assert first["channel"] == "C1"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.content_type.startswith("application/json")
    assert call.params == {"channel": "C1", "text": "one", "blocks": BLOCKS}
    assert call.token_valid


async def test_update_changes_the_posted_message(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="working…")

    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="done", blocks=BLOCKS)

    assert (updated["channel"], updated["ts"]) == ("C1", posted["ts"])
    message = fake_slack.message("C1", posted["ts"])
    assert message is not None
    assert (message["text"], message["blocks"]) == ("done", BLOCKS)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts="1.000000", text="x")
    assert raised.value.response["error"] == "message_not_found"


async def test_ephemeral_and_join(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    joined = await client.conversations_join(channel="C2")

    assert ephemeral["message_ts"]
    assert joined["channel"]["id"] == "C2"
    # slack_sdk puts conversations.join's arguments in the query string, not the body.
    call = fake_slack.calls_to("conversations.join")[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params == {"channel": "C2"}


async def test_apps_connections_open_takes_the_app_token(
    client: AsyncWebClient,
) -> None:
    opened = await client.apps_connections_open(app_token=DEFAULT_APP_TOKEN)

    assert opened["url"].startswith("ws://")
    with pytest.raises(SlackApiError) as raised:
        await client.apps_connections_open(app_token=DEFAULT_TOKEN)
    assert raised.value.response["error"] == "not_allowed_token_type"


async def test_wrong_token_is_invalid_auth(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="x")

    assert raised.value.response["error"] == "invalid_auth"
    assert fake_slack.calls_to("chat.postMessage")[0].token_valid is False


async def test_set_token_revokes_the_old_one(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.set_token("xoxb-rotated")

    with pytest.raises(SlackApiError) as raised:
        await client.auth_test()

    assert raised.value.response["error"] == "invalid_auth"


async def test_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("reactions.add", json={"name": "eyes"})

    assert raised.value.response["error"] == "unknown_method"


# ----- fault injection through slack_sdk --------------------------------------------------


async def test_429_fault_carries_retry_after(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.fail_next("chat.postMessage", "429")

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert raised.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True


async def test_429_fault_is_retried_by_the_rate_limit_handler() -> None:
    with FakeSlack(retry_after=0) as fake:
        client = AsyncWebClient(
            token=DEFAULT_TOKEN,
            base_url=fake.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        fake.fail_next("chat.postMessage", "429")

        response = await client.chat_postMessage(channel="C1", text="x")

        assert response["ok"] is True
        assert len(fake.calls_to("chat.postMessage")) == 2


async def test_500_fault(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.fail_next("auth.test", "500")

    with pytest.raises(SlackApiError) as raised:
        await client.auth_test()

    assert raised.value.response.status_code == 500


async def test_slack_error_faults_count_down(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.fail_next("chat.postMessage", "not_in_channel", times=2)
    errors: list[str] = []

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="C1", text="x")
        assert raised.value.response.status_code == 200
        errors.append(raised.value.response["error"])
    await client.auth_test()  # other methods are unaffected

    assert errors == ["not_in_channel", "not_in_channel"]
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True


# ----- Web API through plain httpx --------------------------------------------------------


def test_form_body_with_token_param_and_json_string_blocks(fake_slack: FakeSlack) -> None:
    form = {"token": DEFAULT_TOKEN, "channel": "C1", "blocks": '[{"type": "divider"}]'}

    response = httpx.post(f"{fake_slack.api_url}chat.postMessage", data=form)

    assert response.json()["ok"] is True
    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.params == {"channel": "C1", "blocks": [{"type": "divider"}]}


def test_json_body_with_bearer_header(fake_slack: FakeSlack) -> None:
    response = httpx.post(
        f"{fake_slack.api_url}chat.postMessage",
        json={"channel": "C1", "text": "x"},
        headers=BEARER,
    )

    assert response.json()["ok"] is True
    headers = fake_slack.calls[0].headers
    assert "authorization" not in {name.lower() for name in headers}
    assert DEFAULT_TOKEN not in repr(fake_slack.calls)


def test_missing_token_is_not_authed(fake_slack: FakeSlack) -> None:
    response = httpx.post(f"{fake_slack.api_url}auth.test")

    assert response.json() == {"ok": False, "error": "not_authed"}


def test_malformed_json_body_is_invalid_json(fake_slack: FakeSlack) -> None:
    response = httpx.post(
        f"{fake_slack.api_url}chat.postMessage",
        content=b"{not json",
        headers={**BEARER, "Content-Type": "application/json"},
    )

    assert response.json() == {"ok": False, "error": "invalid_json"}


# ----- latency and what was answered ------------------------------------------------------


async def test_latency_holds_the_answer_back_and_records_it(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.set_latency("chat.postMessage", 0.2)

    posted = await client.chat_postMessage(channel="C1", text="slow")
    await client.auth_test()

    [post] = fake_slack.calls_to("chat.postMessage")
    [auth] = fake_slack.calls_to("auth.test")
    assert post.latency == 0.2 and auth.latency == 0.0
    assert post.answer == posted.data
    assert post.answered_at is not None
    # asyncio may wake a timer up to its clock resolution early; a millisecond covers it.
    assert post.answered_at - post.at >= 0.2 - 0.001
    assert auth.answered_at is not None and auth.answer is not None and auth.answer["ok"]


def test_latency_draws_are_seeded_and_within_bounds() -> None:
    def delays(seed: int) -> list[float]:
        with FakeSlack(latency_seed=seed) as fake:
            fake.set_latency("auth.test", 0.0, 0.02)
            for _ in range(5):
                httpx.post(f"{fake.api_url}auth.test", headers=BEARER)
            return [call.latency for call in fake.calls]

    first = delays(1)

    assert first == delays(1)
    assert first != delays(2)
    assert all(0.0 <= delay <= 0.02 for delay in first)


def test_latency_bounds_are_checked_and_zero_turns_it_off(fake_slack: FakeSlack) -> None:
    for low, high in ((-0.1, None), (0.3, 0.2)):
        with pytest.raises(ValueError, match="latency"):
            fake_slack.set_latency("chat.postMessage", low, high)
    fake_slack.set_latency("chat.postMessage", 0.5)

    fake_slack.set_latency("chat.postMessage", 0)
    httpx.post(f"{fake_slack.api_url}chat.postMessage", json={"channel": "C1", "text": "x"})

    assert fake_slack.calls[0].latency == 0.0


def test_a_client_gone_during_the_latency_posted_but_was_never_answered(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.set_latency("chat.postMessage", 0.5)
    url = f"{fake_slack.api_url}chat.postMessage"

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json={"channel": "C1", "text": "gone"}, headers=BEARER, timeout=0.1)
    time.sleep(1.0)  # past the latency: an answer that was still coming has been recorded

    [message] = fake_slack.posted("C1")
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.answer is not None and call.answer["ts"] == message["ts"]
    assert call.answered_at is None


def test_a_fault_is_recorded_as_the_answer(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", "429")

    httpx.post(f"{fake_slack.api_url}chat.postMessage", json={"channel": "C1"}, headers=BEARER)

    [call] = fake_slack.calls
    assert call.answer == {"ok": False, "error": "ratelimited"}
    assert call.answered_at is not None


# ----- response_url -----------------------------------------------------------------------


def test_response_url_records_json_and_answers_ok(fake_slack: FakeSlack) -> None:
    payload = {"response_type": "ephemeral", "text": "listing…", "blocks": BLOCKS}

    response = httpx.post(fake_slack.response_url("cmd-1"), json=payload)

    assert (response.status_code, response.text) == (200, "ok")
    [recorded] = fake_slack.responses
    assert (recorded.key, recorded.payload) == ("cmd-1", payload)


async def test_response_url_via_slack_sdk_webhook_client(fake_slack: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake_slack.response_url("cmd-2"))

    response = await webhook.send(text="hello", replace_original=True)

    assert (response.status_code, response.body) == (200, "ok")
    assert fake_slack.responses[0].payload == {"text": "hello", "replace_original": True}


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("500", 500, "rollup_error"),
        ("expired_url", 404, "expired_url"),
        ("channel_is_archived", 410, "channel_is_archived"),
        ("invalid_blocks", 400, "invalid_blocks"),
    ],
)
def test_response_url_faults_look_like_webhook_errors(
    fake_slack: FakeSlack, kind: str, status: int, body: str
) -> None:
    fake_slack.fail_next(RESPONSE_URL, kind)
    url = fake_slack.response_url("k")

    failed = httpx.post(url, json={"text": "x"})
    retried = httpx.post(url, json={"text": "x"})

    assert (failed.status_code, failed.text) == (status, body)
    assert retried.status_code == 200


def test_response_url_429_has_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(RESPONSE_URL, "429")

    response = httpx.post(fake_slack.response_url("k"), json={"text": "x"})

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


# ----- waiting helpers --------------------------------------------------------------------


def post_later(url: str, payload: dict[str, Any], delay: float = 0.2) -> threading.Thread:
    """POST JSON from another thread after ``delay``: something the test has to wait for."""

    def run() -> None:
        time.sleep(delay)
        httpx.post(url, json=payload, headers=BEARER)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_for_responses_blocks_until_they_arrive(fake_slack: FakeSlack) -> None:
    thread = post_later(fake_slack.response_url("k"), {"text": "late"})

    responses = fake_slack.wait_for_responses(1, timeout=5.0)

    assert responses[0].payload == {"text": "late"}
    thread.join()


def test_wait_for_calls_blocks_until_they_arrive(fake_slack: FakeSlack) -> None:
    url = f"{fake_slack.api_url}chat.postMessage"
    thread = post_later(url, {"channel": "C1", "text": "x"})

    calls = fake_slack.wait_for_calls("chat.postMessage", 1, timeout=5.0)

    assert calls[0].params["channel"] == "C1"
    thread.join()


def test_waiting_times_out_with_what_did_arrive(fake_slack: FakeSlack) -> None:
    httpx.post(f"{fake_slack.api_url}auth.test", headers=BEARER)

    with pytest.raises(TimeoutError, match=r"expected 2 auth\.test"):
        fake_slack.wait_for_calls("auth.test", 2, timeout=0.1)
    with pytest.raises(TimeoutError, match="response_url"):
        fake_slack.wait_for_responses(1, timeout=0.1)


async def test_await_helpers_keep_the_event_loop_running(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    # The "bot" runs on this test's loop; blocking waits would starve it.
    async def bot() -> None:
        await asyncio.sleep(0.1)
        await client.chat_postMessage(channel="C1", text="x")
        await AsyncWebhookClient(fake_slack.response_url("k")).send(text="done")

    task = asyncio.create_task(bot())

    calls = await fake_slack.await_calls("chat.postMessage", 1, timeout=5.0)
    responses = await fake_slack.await_responses(1, timeout=5.0)

    await task
    assert calls[0].params["text"] == "x"
    assert responses[0].payload == {"text": "done"}
    with pytest.raises(TimeoutError):
        await fake_slack.await_responses(2, timeout=0.1)


# ----- files_upload_v2 ----------------------------------------------------------------------

# Not valid UTF-8, and with every byte value: any decoding or re-encoding would show.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"IEND\xaeB`\x82"


async def test_files_upload_v2_shares_the_exact_bytes_and_comment_after_a_join(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.conversations_join(channel="C1")

    response = await client.files_upload_v2(
        channel="C1", content=PNG, filename="report.png", initial_comment="Weekly report"
    )

    [shared] = await fake_slack.await_files(1, timeout=5.0)
    assert shared == SharedFile(
        file_id=response["file"]["id"],
        filename="report.png",
        title="report.png",  # slack_sdk's default title is the filename
        channel="C1",
        initial_comment="Weekly report",
        thread_ts=None,
        ts=shared.ts,
        bytes=PNG,
    )
    assert response["files"] == [response["file"]]
    assert (response["file"]["name"], response["file"]["size"]) == ("report.png", len(PNG))
    assert response["file"]["mimetype"] == "image/png"
    # Like Slack, the share is a message in the channel.
    [message] = fake_slack.posted("C1")
    assert (message["ts"], message["subtype"], message["text"]) == (
        shared.ts,
        "file_share",
        "Weekly report",
    )
    assert [f["id"] for f in message["files"]] == [shared.file_id]
    assert fake_slack.files("C2") == []


async def test_what_files_upload_v2_sends_in_each_step(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")

    await client.files_upload_v2(channel="C1", content=PNG, filename="report.png")

    # 1. Arguments in the query string, on an empty form-typed body.
    [url_call] = fake_slack.calls_to("files.getUploadURLExternal")
    assert url_call.content_type == "application/x-www-form-urlencoded"
    assert url_call.params == {"filename": "report.png", "length": str(len(PNG))}
    assert url_call.answer is not None
    file_id = url_call.answer["file_id"]
    assert url_call.answer["upload_url"] == f"{fake_slack.url}/upload/{file_id}"
    # 2. The raw bytes, without the token.
    [upload] = fake_slack.uploads
    assert (upload.file_id, upload.size, upload.status) == (file_id, len(PNG), 200)
    assert upload.content_type == "application/octet-stream"
    # 3. The files as a JSON string in the query string (decoded when recorded).
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.content_type == "application/x-www-form-urlencoded"
    files = [{"id": file_id, "title": "report.png"}]
    assert complete.params == {"files": files, "channel_id": "C1"}


async def test_files_upload_v2_into_a_channel_the_bot_is_not_in_is_not_in_channel(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.files_upload_v2(channel="C1", content=PNG, filename="report.png")

    assert raised.value.response["error"] == "not_in_channel"
    assert fake_slack.files() == []
    assert fake_slack.posted() == []
    # The upload is still there to complete once the bot is in the channel.
    [url_call] = fake_slack.calls_to("files.getUploadURLExternal")
    assert url_call.answer is not None
    await client.conversations_join(channel="C1")
    await client.files_completeUploadExternal(
        files=[{"id": url_call.answer["file_id"], "title": "Report"}], channel_id="C1"
    )
    assert [(f.title, f.bytes) for f in fake_slack.files("C1")] == [("Report", PNG)]


async def test_upload_without_a_channel_stays_private_and_threads_are_kept(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")

    await client.files_upload_v2(content=b"private", filename="a.txt")
    await client.files_upload_v2(
        channels=["C1"], content=b"reply", filename="b.txt", thread_ts="1700000000.000100"
    )

    private, reply = fake_slack.files()
    assert (private.channel, private.ts, private.bytes) == (None, None, b"private")
    assert (reply.channel, reply.thread_ts) == ("C1", "1700000000.000100")
    assert fake_slack.files("C1") == [reply]
    [message] = fake_slack.posted("C1")
    assert message["thread_ts"] == "1700000000.000100"


async def test_get_upload_url_needs_a_filename_and_a_byte_length(client: AsyncWebClient) -> None:
    errors = []
    for params in ({"length": 3}, {"filename": "a.txt"}, {"filename": "a.txt", "length": "3kB"}):
        with pytest.raises(SlackApiError) as raised:
            await client.api_call("files.getUploadURLExternal", params=params)
        errors.append(raised.value.response["error"])

    assert errors == ["invalid_arguments"] * 3


def test_upload_url_answers_like_slack_and_keeps_multipart_files(fake_slack: FakeSlack) -> None:
    url_of = f"{fake_slack.api_url}files.getUploadURLExternal"
    issued = httpx.post(url_of, params={"filename": "a.bin", "length": 4}, headers=BEARER).json()

    unknown = httpx.post(f"{fake_slack.url}/upload/F404", content=b"abcd")
    uploaded = httpx.post(issued["upload_url"], files={"file": ("a.bin", b"\x00\x01\x02\x03")})

    assert issued["file_id"].startswith("F")
    assert unknown.status_code == 404
    assert (uploaded.status_code, uploaded.text) == (200, "OK - 4")
    assert uploaded.headers["Content-Type"].startswith("text/plain")
    assert fake_slack.uploads[-1].content_type.startswith("multipart/form-data")
    complete = httpx.post(
        f"{fake_slack.api_url}files.completeUploadExternal",
        data={"files": json.dumps([{"id": issued["file_id"]}])},
        headers=BEARER,
    )
    assert complete.json()["ok"] is True
    [shared] = fake_slack.files()
    assert (shared.bytes, shared.title) == (b"\x00\x01\x02\x03", "a.bin")


async def test_complete_refuses_unknown_unuploaded_and_short_files(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")
    never = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    short = await client.files_getUploadURLExternal(filename="b.txt", length=3)
    async with (
        aiohttp.ClientSession() as session,
        session.post(short["upload_url"], data=b"ab") as answer,
    ):
        assert answer.status == 200

    errors = []
    for file_id in ("F-made-up", never["file_id"], short["file_id"]):
        with pytest.raises(SlackApiError) as raised:
            await client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C1")
        errors.append(raised.value.response["error"])
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("files.completeUploadExternal", params={"channel_id": "C1"})

    assert errors == ["file_not_found", "file_not_found", "file_upload_size_mismatch"]
    assert raised.value.response["error"] == "invalid_arguments"
    assert fake_slack.files() == []


async def test_a_completed_upload_cannot_be_completed_again(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")
    response = await client.files_upload_v2(channel="C1", content=b"x", filename="a.txt")

    with pytest.raises(SlackApiError) as raised:
        await client.files_completeUploadExternal(
            files=[{"id": response["file"]["id"]}], channel_id="C1"
        )

    assert raised.value.response["error"] == "file_not_found"
    assert len(fake_slack.files()) == 1


async def test_fail_next_on_complete_upload_surfaces_and_shares_nothing(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")
    fake_slack.fail_next("files.completeUploadExternal", "500")

    with pytest.raises(SlackApiError) as raised:
        await client.files_upload_v2(channel="C1", content=PNG, filename="report.png")

    assert raised.value.response.status_code == 500
    assert fake_slack.files() == []
    await client.files_upload_v2(channel="C1", content=PNG, filename="report.png")
    assert len(fake_slack.files("C1")) == 1


async def test_a_failed_upload_step_is_a_request_error_and_keeps_no_bytes(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")
    fake_slack.fail_next(UPLOAD, "500")

    # slack_sdk checks the upload's status itself: not a SlackApiError.
    with pytest.raises(SlackRequestError, match="status: 500"):
        await client.files_upload_v2(channel="C1", content=PNG, filename="report.png")

    [upload] = fake_slack.uploads
    assert upload.status == 500
    assert fake_slack.calls_to("files.completeUploadExternal") == []
    assert fake_slack.files() == []


async def test_latency_and_tokens_apply_to_the_upload_steps(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.join("C1")
    fake_slack.set_latency("files.completeUploadExternal", 0.2)
    fake_slack.set_latency(UPLOAD, 0.2)

    started = time.monotonic()
    await client.files_upload_v2(channel="C1", content=PNG, filename="report.png")

    assert time.monotonic() - started >= 0.4 - 0.002
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.latency == 0.2
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url)
    with pytest.raises(SlackApiError) as raised:
        await wrong.files_upload_v2(channel="C1", content=PNG, filename="report.png")
    assert raised.value.response["error"] == "invalid_auth"


# ----- conversations.open -----------------------------------------------------------------


async def test_conversations_open_gives_a_stable_dm_the_bot_can_share_into(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.files_upload_v2(channel="DU1", content=PNG, filename="report.png")
    assert raised.value.response["error"] == "not_in_channel"

    opened = await client.conversations_open(users="U1")
    again = await client.conversations_open(users=["U1"])
    other = await client.conversations_open(users="U2")
    dm = opened["channel"]["id"]
    await client.files_upload_v2(channel=dm, content=PNG, filename="report.png")
    await client.chat_postMessage(channel=dm, text="hello")

    assert dm.startswith("D")
    assert again["channel"]["id"] == dm and again["already_open"] is True
    assert other["channel"]["id"] != dm
    [shared] = fake_slack.files(dm)
    assert shared.bytes == PNG
    assert [m.get("subtype") for m in fake_slack.posted(dm)] == ["file_share", None]


async def test_conversations_open_needs_users(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("conversations.open", params={})

    assert raised.value.response["error"] == "users_list_not_supplied"


# ----- views.publish ------------------------------------------------------------------------


def home(blocks: int) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "row"}}
    return {"type": "home", "blocks": [section] * blocks}


async def test_views_publish_takes_100_blocks_and_not_101(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    published = await client.views_publish(user_id="U1", view=home(100))
    with pytest.raises(SlackApiError) as raised:
        await client.views_publish(user_id="U1", view=home(101))

    assert published["view"]["id"].startswith("V")
    assert raised.value.response.data == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {
            "messages": ["[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"]
        },
    }
    view = fake_slack.home_view("U1")
    assert view is not None and len(view["blocks"]) == 100
    assert view == published["view"]
    assert fake_slack.home_view("U2") is None


async def test_views_publish_keeps_the_latest_view_per_user(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    async def bot() -> None:
        await asyncio.sleep(0.1)
        await client.views_publish(user_id="U1", view=home(1))
        await client.views_publish(user_id="U1", view=home(2))

    task = asyncio.create_task(bot())
    latest = await fake_slack.await_home_view("U1", 5.0, n=2)
    await task

    assert len(latest["blocks"]) == 2
    [first, second] = fake_slack.calls_to("views.publish")
    assert first.content_type.startswith("application/json")
    assert first.answer is not None and second.answer is not None
    assert first.answer["view"]["id"] == second.answer["view"]["id"] == latest["id"]
    with pytest.raises(TimeoutError):
        await fake_slack.await_home_view("U2", 0.1)


async def test_views_publish_refuses_a_missing_user_or_a_non_home_view(
    client: AsyncWebClient,
) -> None:
    errors = []
    for arguments in (
        {"view": home(1)},
        {"user_id": "U1", "view": {"type": "modal", "blocks": []}},
        {"user_id": "U1"},
    ):
        with pytest.raises(SlackApiError) as raised:
            await client.api_call("views.publish", json=arguments)
        errors.append(raised.value.response["error"])

    assert errors == ["invalid_arguments"] * 3


def test_views_publish_takes_the_view_as_a_json_string_and_checks_the_hash(
    fake_slack: FakeSlack,
) -> None:
    url = f"{fake_slack.api_url}views.publish"

    first = httpx.post(url, data={"user_id": "U1", "view": json.dumps(home(1))}, headers=BEARER)
    stale = {"user_id": "U1", "view": home(2), "hash": "1.stale"}
    conflict = httpx.post(url, json=stale, headers=BEARER)
    fresh = {**stale, "hash": first.json()["view"]["hash"]}
    second = httpx.post(url, json=fresh, headers=BEARER)

    assert first.json()["ok"] is True
    assert conflict.json() == {"ok": False, "error": "hash_conflict"}
    assert second.json()["ok"] is True
    view = fake_slack.home_view("U1")
    assert view is not None and len(view["blocks"]) == 2


async def test_fail_next_and_latency_apply_to_views_publish(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.fail_next("views.publish", "not_enabled")
    fake_slack.set_latency("views.publish", 0.2)

    with pytest.raises(SlackApiError) as raised:
        await client.views_publish(user_id="U1", view=home(1))
    await client.views_publish(user_id="U1", view=home(1))

    assert raised.value.response["error"] == "not_enabled"
    failed, published = fake_slack.calls_to("views.publish")
    assert failed.latency == published.latency == 0.2
    assert published.answered_at is not None
    assert published.answered_at - published.at >= 0.2 - 0.001


# ----- Socket Mode ------------------------------------------------------------------------

COMMAND = {"command": "/backups", "text": "list", "response_url": "http://127.0.0.1:1/r"}


class Recorder:
    """A slack_sdk SocketModeClient's listeners: keep every message, ack every request."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []

    async def on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        self.messages.append(message)

    async def on_request(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        self.requests.append(request)
        response = SocketModeResponse(request.envelope_id, payload={"text": "on it"})
        await client.send_socket_mode_response(response)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]


@pytest.fixture
async def socket_client(fake_slack: FakeSlack) -> AsyncIterator[tuple[SocketModeClient, Recorder]]:
    """slack_sdk's aiohttp Socket Mode client, connected to the fake."""
    recorder = Recorder()
    client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN, web_client=AsyncWebClient(base_url=fake_slack.api_url)
    )
    client.message_listeners.append(recorder.on_message)
    client.socket_mode_request_listeners.append(recorder.on_request)
    await client.connect()  # type: ignore[no-untyped-call]
    try:
        yield client, recorder
    finally:
        await client.close()  # type: ignore[no-untyped-call]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError("the condition never held")
        await asyncio.sleep(0.01)


async def open_url(fake_slack: FakeSlack) -> str:
    opened = await AsyncWebClient(base_url=fake_slack.api_url).apps_connections_open(
        app_token=DEFAULT_APP_TOKEN
    )
    return str(opened["url"])


async def test_connections_open_returns_a_socket_url_on_the_fake(fake_slack: FakeSlack) -> None:
    first, second = await open_url(fake_slack), await open_url(fake_slack)

    host = fake_slack.url.removeprefix("http://")
    assert first.startswith(f"ws://{host}/link/?ticket=")
    assert first != second, "every call issues a fresh ticket"


async def test_slack_sdk_client_gets_hello_then_an_envelope_and_acks_it(
    fake_slack: FakeSlack, socket_client: tuple[SocketModeClient, Recorder]
) -> None:
    _, recorder = socket_client
    assert await fake_slack.await_socket_connections(1) == 1

    envelope_id = fake_slack.send_envelope("slash_commands", COMMAND)
    ack = await fake_slack.await_socket_ack(envelope_id)

    assert ack == {"envelope_id": envelope_id, "payload": {"text": "on it"}}
    [hello] = recorder.of_type("hello")
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0APP"}
    assert "approximate_connection_time" in hello["debug_info"]
    [request] = recorder.requests
    assert (request.type, request.envelope_id) == ("slash_commands", envelope_id)
    assert request.payload == COMMAND
    assert request.accepts_response_payload is True
    [message] = fake_slack.socket_messages
    assert message.connection == 1


async def test_envelopes_take_turns_across_connections(fake_slack: FakeSlack) -> None:
    recorders = [Recorder(), Recorder()]
    clients = []
    for recorder in recorders:
        client = SocketModeClient(
            app_token=DEFAULT_APP_TOKEN, web_client=AsyncWebClient(base_url=fake_slack.api_url)
        )
        client.message_listeners.append(recorder.on_message)
        client.socket_mode_request_listeners.append(recorder.on_request)
        await client.connect()  # type: ignore[no-untyped-call]
        clients.append(client)
    try:
        assert await fake_slack.await_socket_connections(2) == 2
        ids = [fake_slack.send_envelope("interactive", {"type": "block_actions"}) for _ in range(4)]
        for envelope_id in ids:
            await fake_slack.await_socket_ack(envelope_id)
    finally:
        for client in clients:
            await client.close()  # type: ignore[no-untyped-call]

    assert [len(r.requests) for r in recorders] == [2, 2]
    assert [h["num_connections"] for r in recorders for h in r.of_type("hello")] == [1, 2]
    await until(lambda: fake_slack.socket_connection_count == 0)


async def test_disconnect_makes_slack_sdk_reconnect(
    fake_slack: FakeSlack, socket_client: tuple[SocketModeClient, Recorder]
) -> None:
    _, recorder = socket_client
    await fake_slack.await_socket_connections(1)

    assert fake_slack.disconnect_sockets() == 1
    assert fake_slack.socket_connection_count == 0  # the old socket takes no more envelopes
    await fake_slack.await_socket_connections(1)
    envelope_id = fake_slack.send_envelope("slash_commands", COMMAND)

    assert (await fake_slack.await_socket_ack(envelope_id))["envelope_id"] == envelope_id
    # slack_sdk handles a disconnect message itself and shows it to no listener; the
    # second hello, on connection 2, is the sign that it reconnected.
    assert recorder.of_type("disconnect") == []
    assert len(recorder.of_type("hello")) == 2
    assert len(fake_slack.calls_to("apps.connections.open")) == 2
    assert fake_slack.socket_messages[-1].connection == 2


async def test_a_client_that_ignores_disconnect_is_closed_after_the_grace(
    fake_slack: FakeSlack,
) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await session.ws_connect(await open_url(fake_slack))
        assert (await socket.receive_json())["type"] == "hello"
        await fake_slack.await_socket_connections(1)

        fake_slack.disconnect_sockets("warning", grace=0.1)

        assert await socket.receive_json() == {
            "type": "disconnect",
            "reason": "warning",
            "debug_info": {"host": "fake-slack"},
        }
        closing = await socket.receive(timeout=5.0)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert closing.data == aiohttp.WSCloseCode.GOING_AWAY


async def test_socket_answers_pings_with_the_same_payload(fake_slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await session.ws_connect(await open_url(fake_slack), autoping=False)
        await socket.receive_json()  # hello

        await socket.ping(b"sdk-ping-pong:123.5")
        pong = await socket.receive(timeout=5.0)

        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"sdk-ping-pong:123.5")
        await socket.close()


async def test_socket_needs_a_ticket_from_connections_open(fake_slack: FakeSlack) -> None:
    url = f"{fake_slack.url.replace('http://', 'ws://')}/link/?ticket=made-up"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
            await session.ws_connect(url)

    assert raised.value.status == 401
    assert fake_slack.socket_connection_count == 0


def test_send_envelope_without_a_connection_fails(fake_slack: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="no Socket Mode connection"):
        fake_slack.send_envelope("slash_commands", COMMAND)


async def test_stop_closes_sockets_with_going_away() -> None:
    fake = FakeSlack().start()
    try:
        async with aiohttp.ClientSession() as session:
            socket = await session.ws_connect(await open_url(fake))
            await socket.receive_json()  # hello
            await fake.await_socket_connections(1)

            # stop() blocks its thread until the client has answered the close frame, and
            # the client answers on this loop: run stop() elsewhere.
            stopping = asyncio.create_task(asyncio.to_thread(fake.stop))
            closing = await socket.receive(timeout=5.0)
            await stopping
    finally:
        fake.stop()

    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
