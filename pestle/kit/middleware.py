"""The outermost layer: request ids, access logs, body-size limits and last-resort errors.

Pure ASGI rather than BaseHTTPMiddleware, so bodies stream through untouched and the limit is
enforced while reading, whether or not the client sent ``Content-Length``.
"""

import logging
import re
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pestle.exceptions import error_json
from pestle.kit.ids import new_id
from pestle.kit.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

access_log = logging.getLogger("pestle.access")
error_log = logging.getLogger("pestle.errors")


def _too_large(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        client_id = headers.get(REQUEST_ID_HEADER, "")
        request_id = client_id if _CLIENT_REQUEST_ID.fullmatch(client_id) else new_id().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                response = error_json(413, "PayloadTooLarge", _too_large(self.max_body_bytes))
                await response(scope, receive, send_with_request_id)
                return
            await self.app(scope, self._limited(receive), send_with_request_id)
        except Exception as error:
            error_log.error("unhandled error", exc_info=error)
            if not response_started:
                response = error_json(
                    500, "InternalError", "The server failed to handle this request."
                )
                await response(scope, receive, send_with_request_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large(limit))
            return message

        return receive_within_limit
