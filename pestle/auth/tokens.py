"""HS256 access and refresh tokens, as Blend issues them: 60 minutes and 7 days."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import jwt

from pestle.exceptions import Unauthorized
from pestle.kit.time import utcnow

ACCESS_LIFETIME = timedelta(minutes=60)
REFRESH_LIFETIME = timedelta(days=7)
ALGORITHM = "HS256"
ISSUER = "pestle"


class TokenKind(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class InvalidToken(Unauthorized):
    def __init__(self, reason: str = "The bearer token is not valid.") -> None:
        super().__init__(reason)


class TokenExpired(Unauthorized):
    def __init__(self) -> None:
        super().__init__("The bearer token has expired.")


class WrongTokenKind(Unauthorized):
    def __init__(self, expected: TokenKind) -> None:
        super().__init__(f"This endpoint takes the {expected} token, not the other one.")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


class TokenCodec:
    def __init__(self, signing_key: str) -> None:
        self.signing_key = signing_key

    def issue(self, user_id: uuid.UUID, kind: TokenKind) -> IssuedToken:
        now = utcnow().replace(microsecond=0)
        expires_at = now + (ACCESS_LIFETIME if kind is TokenKind.ACCESS else REFRESH_LIFETIME)
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "typ": kind.value,
            "iat": now,
            "exp": expires_at,
            "jti": secrets.token_hex(8),
        }
        return IssuedToken(jwt.encode(claims, self.signing_key, algorithm=ALGORITHM), expires_at)

    def user_id(self, token: str, kind: TokenKind) -> uuid.UUID:
        """The user a valid token of ``kind`` was issued to; Unauthorized otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.signing_key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.PyJWTError:
            raise InvalidToken() from None
        if claims["typ"] != kind.value:
            raise WrongTokenKind(kind)
        try:
            return uuid.UUID(claims["sub"])
        except (TypeError, ValueError):
            raise InvalidToken() from None
