"""Argon2id password hashes and the password policy of Blend's 2025-11-17 changelog."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pestle.exceptions import Unprocessable

MIN_LENGTH = 8
FREE_FORM_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that the answer takes as long either way.
_DECOY_HASH = _hasher.hash("decoy password that matches nothing")


class WeakPassword(Unprocessable):
    pass


def check_policy(password: str) -> None:
    """Shorter than 12 characters must mix lower-case, upper-case and special characters."""
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"A password may have at most {MAX_LENGTH} characters.")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) >= FREE_FORM_LENGTH:
        return
    missing = [
        kind
        for kind, present in (
            ("a lower-case letter", any(c.islower() for c in password)),
            ("an upper-case letter", any(c.isupper() for c in password)),
            ("a special character", any(not (c.isalnum() or c.isspace()) for c in password)),
        )
        if not present
    ]
    if missing:
        raise WeakPassword(
            f"A password shorter than {FREE_FORM_LENGTH} characters needs "
            + ", ".join(missing)
            + "."
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
