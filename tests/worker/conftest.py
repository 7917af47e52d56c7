"""A real webhook receiver on a loopback port, and subscriptions written straight to the
database (the subscription API is tested on its own)."""

import asyncio
import random
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from pestle import models
from pestle.events.service import emit
from pestle.kit.crypto import FieldCipher
from pestle.kit.signing import new_secret
from pestle.worker.loop import Worker
from tests.conftest import TEST_SECRET_KEY, Backend, Db, live_server

SEED = 20261204


def seeded() -> random.Random:
    """The jitter source of a worker under test, and its twin to compute expected waits."""
    return random.Random(SEED)  # noqa: S311 - jitter, not a secret


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: str = "ok"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every request; answers each path (or `path#resource`, by `webhook-resource`)
    from its queue of replies, then 200."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[Received] = []
        self.replies: dict[str, list[Reply]] = {}
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route("/{path:path}", self.handle, methods=["POST"])

    async def handle(self, request: Request, path: str) -> Response:
        body = await request.body()
        with self.lock:
            self.requests.append(Received("/" + path, dict(request.headers), body))
            resource = request.headers.get("webhook-resource", "")
            queue = self.replies.get(f"/{path}#{resource}") or self.replies.get("/" + path)
            reply = queue.pop(0) if queue else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    def url(self, path: str) -> str:
        return self.base_url + path

    def answer(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.replies[path] = list(replies)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path == path]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.replies.clear()


@pytest.fixture(scope="session")
def session_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with live_server(receiver.app) as base_url:
        receiver.base_url = base_url
        yield receiver


@pytest.fixture
def receiver(session_receiver: Receiver) -> Iterator[Receiver]:
    session_receiver.clear()
    yield session_receiver
    session_receiver.clear()


@dataclass(frozen=True)
class Clinic:
    customer_id: uuid.UUID
    user_id: uuid.UUID


@pytest.fixture
async def clinic(db: Db) -> Clinic:
    user = await db.create_user("admin@clinic-a.pestle.dev", "admin", "Clinic A")
    assert user.customer_id is not None
    return Clinic(user.customer_id, user.id)


async def subscribe(
    db: Db,
    clinic: Clinic,
    url: str,
    event_codes: list[str] | None = None,
    secrets: list[tuple[str, datetime | None]] | None = None,
) -> tuple[models.Subscription, str]:
    """A webhook subscription and its (first) secret, in the clear."""
    cipher = FieldCipher(TEST_SECRET_KEY)
    secrets = secrets or [(new_secret(), None)]
    async with db.database.transaction() as session:
        subscription = models.Subscription(
            customer_id=clinic.customer_id,
            user_id=clinic.user_id,
            type="webhook",
            url=url,
            event_codes=event_codes or ["all"],
        )
        session.add(subscription)
        await session.flush()
        for secret, expires_at in secrets:
            session.add(
                models.SubscriptionSecret(
                    subscription_id=subscription.id,
                    secret_ciphertext=cipher.encrypt(secret),
                    expires_at=expires_at,
                )
            )
    return subscription, secrets[0][0]


async def emit_event(db: Db, clinic: Clinic, code: str, data: dict[str, Any]) -> None:
    async with db.database.transaction() as session:
        await emit(session, code, data, clinic.customer_id)


@pytest.fixture
async def worker(db: Db, backend: Backend) -> AsyncIterator[Worker]:
    worker = Worker(db.database, backend.settings, rng=seeded())
    yield worker
    await worker.close()
