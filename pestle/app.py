"""create_app: the ASGI application, its middleware, error handlers, routers and lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pestle import __version__
from pestle.api import router as api_router
from pestle.auth.tokens import TokenCodec
from pestle.config import Settings
from pestle.db import Database
from pestle.exceptions import install_error_handlers
from pestle.kit import idempotency
from pestle.kit.crypto import FieldCipher
from pestle.kit.middleware import RequestContextMiddleware
from pestle.ops.endpoints import router as ops_router
from pestle.worker.loop import in_process_worker

DESCRIPTION = """\
Pestle runs a compounding-pharmacy fulfilment business. Its REST API is wire-compatible with
the public Blend API. Errors are `{"detail": ..., "error": "<ErrorName>"}`; lists are bare
arrays with `X-Total-Count` and `Link` headers; every POST accepts an `Idempotency-Key`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with in_process_worker(app.state.database, settings):
            yield
        await app.state.database.dispose()

    app = FastAPI(
        title="Pestle",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = Database(settings)
    signing_key = settings.signing_key()
    app.state.tokens = TokenCodec(signing_key)
    app.state.cipher = FieldCipher(signing_key)
    install_error_handlers(app)
    idempotency.install(app)
    # Added last, so outermost: every response, errors included, carries X-Request-ID.
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(ops_router)
    app.include_router(api_router)
    return app
