"""Encryption of individual fields at rest (an SSN), keyed from the server's secret key."""

import base64
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Request

_FIELD_KEY_INFO = b"pestle field encryption v1"


class UndecryptableField(Exception):
    """The value was encrypted under another secret key."""


class FieldCipher:
    def __init__(self, secret_key: str) -> None:
        # A key of its own, derived from the signing key: the token key is never reused as is.
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FIELD_KEY_INFO)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived.derive(secret_key.encode())))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableField() from None


def get_cipher(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.cipher
    return cipher


Cipher = Annotated[FieldCipher, Depends(get_cipher)]
