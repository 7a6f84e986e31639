"""Encryption at rest for the Northflank tokens the bot stores.

A token added with `/backups connect` is a credential to a whole Northflank
team, so it must not rest in clear in a database dump or a backup of one.
Fernet gives authenticated encryption with one key; MultiFernet takes
several, encrypts with the first and decrypts with any, which is what lets
an operator rotate: put the new key first, keep the old one after it, run
`python -m bot keys rotate`, then drop the old key.

Nothing here logs, and no message or repr carries a key or a token.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

VARIABLE = "ENCRYPTION_KEY"
_ORDINALS = ("1st", "2nd", "3rd")


class EncryptionKeyError(Exception):
    """ENCRYPTION_KEY is missing, malformed or not the key the tokens were stored with."""


def generate_key() -> str:
    """A new random Fernet key, as ENCRYPTION_KEY takes it."""
    return Fernet.generate_key().decode("ascii")


class TokenVault:
    """Encrypts with the newest key, decrypts with any of them."""

    def __init__(self, keys: list[Fernet]) -> None:
        if not keys:
            raise EncryptionKeyError(f"{VARIABLE} holds no key")
        self._fernet = MultiFernet(keys)
        self.key_count = len(keys)

    @classmethod
    def from_keys(cls, text: str) -> TokenVault:
        """ENCRYPTION_KEY's value: one or more keys, comma-separated, the newest first."""
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        if not entries:
            raise EncryptionKeyError(f"{VARIABLE} is empty")
        keys = []
        for position, entry in enumerate(entries, start=1):
            try:
                keys.append(Fernet(entry.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise EncryptionKeyError(
                    f"the {_ordinal(position)} key in {VARIABLE} is not a Fernet key "
                    "(44 characters of URL-safe base64, as `python -m bot keys generate` "
                    "prints)"
                ) from None
        return cls(keys)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise EncryptionKeyError(
                f"none of the keys in {VARIABLE} decrypts the stored tokens: "
                "it is not the key they were stored with (when rotating, keep the old key "
                "after the new one)"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret, encrypted again with the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise EncryptionKeyError(
                f"none of the keys in {VARIABLE} decrypts a stored token, so it "
                "cannot be re-encrypted: keep the old key after the new one while rotating"
            ) from None

    def __repr__(self) -> str:
        return f"TokenVault({self.key_count} key{'s' if self.key_count != 1 else ''})"


def _ordinal(position: int) -> str:
    return _ORDINALS[position - 1] if position <= len(_ORDINALS) else f"{position}th"
