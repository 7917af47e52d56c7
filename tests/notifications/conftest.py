"""A real HTTP receiver for webhooks, served by uvicorn on a loopback port."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI, Request, Response

from tests.conftest import live_server


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    status: int = 200
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    app = FastAPI()
    state = Receiver(url="")

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        state.requests.append(Received(dict(request.headers), await request.body()))
        if state.delay:
            await asyncio.sleep(state.delay)
        return Response(status_code=state.status)

    with live_server(app) as base_url:
        state.url = f"{base_url}/hook"
        yield state


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.requests.clear()
    receiver_server.status = 200
    receiver_server.delay = 0.0
    return receiver_server
