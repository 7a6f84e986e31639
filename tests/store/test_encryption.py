"""Encryption at rest: Fernet for the stored Northflank tokens, MultiFernet for rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.store.encryption import EncryptionKeyError, TokenVault, generate_key

TOKEN = "nf-secret-token-0123456789abcdef"


def test_a_token_round_trips_and_its_ciphertext_does_not_contain_it() -> None:
    vault = TokenVault.from_keys(generate_key())
    stored = vault.encrypt(TOKEN)
    assert TOKEN not in stored
    assert vault.decrypt(stored) == TOKEN
    # Fernet is randomised: the same token encrypts differently every time.
    assert vault.encrypt(TOKEN) != stored


def test_a_generated_key_is_a_fresh_fernet_key() -> None:
    key = generate_key()
    Fernet(key)  # raises if it is not one
    assert generate_key() != key


def test_the_old_key_still_decrypts_when_it_comes_second() -> None:
    old, new = generate_key(), generate_key()
    stored = TokenVault.from_keys(old).encrypt(TOKEN)
    # Whitespace around the entries, as people type them into a .env file.
    rotating = TokenVault.from_keys(f" {new} ,\n{old} ")
    assert rotating.key_count == 2
    assert rotating.decrypt(stored) == TOKEN


def test_rotate_re_encrypts_with_the_newest_key() -> None:
    old, new = generate_key(), generate_key()
    stored = TokenVault.from_keys(old).encrypt(TOKEN)
    rotated = TokenVault.from_keys(f"{new},{old}").rotate(stored)
    assert TokenVault.from_keys(new).decrypt(rotated) == TOKEN
    with pytest.raises(EncryptionKeyError):
        TokenVault.from_keys(old).decrypt(rotated)


def test_new_tokens_are_encrypted_with_the_first_key() -> None:
    old, new = generate_key(), generate_key()
    stored = TokenVault.from_keys(f"{new},{old}").encrypt(TOKEN)
    assert TokenVault.from_keys(new).decrypt(stored) == TOKEN


@pytest.mark.parametrize("method", ["decrypt", "rotate"])
def test_a_wrong_key_names_the_variable_and_echoes_neither_key_nor_token(method: str) -> None:
    right, wrong = generate_key(), generate_key()
    stored = TokenVault.from_keys(right).encrypt(TOKEN)
    vault = TokenVault.from_keys(wrong)
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY") as caught:
        getattr(vault, method)(stored)
    message = str(caught.value)
    assert "none of the keys" in message
    for secret in (right, wrong, TOKEN, stored):
        assert secret not in message
    # Raised `from None`: no InvalidToken chained on for a traceback to show.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_damaged_ciphertext_is_reported_like_a_wrong_key() -> None:
    vault = TokenVault.from_keys(generate_key())
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
        vault.decrypt("not-a-fernet-token")
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
        vault.decrypt("é-not-even-ascii")


@pytest.mark.parametrize(
    ("entries", "ordinal"),
    [
        (["{bad}"], "1st"),
        (["{good}", "{bad}"], "2nd"),
        (["{good}", "{good}", "{bad}"], "3rd"),
        (["{good}", "{good}", "{good}", "{bad}"], "4th"),
        (["{good}", "{bad}é"], "2nd"),  # not even ASCII
    ],
)
def test_a_malformed_entry_is_named_by_position_not_echoed(
    entries: list[str], ordinal: str
) -> None:
    bad = "not-a-fernet-key-but-long-enough-to-spot-it"
    good = generate_key()
    text = ",".join(entry.format(good=good, bad=bad) for entry in entries)
    with pytest.raises(EncryptionKeyError) as caught:
        TokenVault.from_keys(text)
    message = str(caught.value)
    assert f"the {ordinal} key in ENCRYPTION_KEY is not a Fernet key" in message
    assert bad not in message and good not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("text", ["", "   ", ",", " , ,"])
def test_no_key_at_all_is_refused(text: str) -> None:
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
        TokenVault.from_keys(text)


def test_the_repr_shows_how_many_keys_but_not_them() -> None:
    first, second = generate_key(), generate_key()
    vault = TokenVault.from_keys(f"{first},{second}")
    for shown in (repr(vault), str(vault)):
        assert first not in shown and second not in shown
        assert "2 keys" in shown
    assert repr(TokenVault.from_keys(first)) == "TokenVault(1 key)"
