"""The delivery worker: fan outbox events out into deliveries, send the due ones, repeat.

`run_once(now)` is one pass with an injectable instant (tests drive the retry schedule with it);
`run_forever(stop)` repeats passes, waking every ``poll`` seconds or, on PostgreSQL, as soon as a
`NOTIFY pestle_outbox` arrives. Sends run concurrently across resources through one shared
aiohttp client; one resource's events go one at a time, in order (see repository.claim_due).
Outcomes are recorded in batches, each one short transaction: no transaction stays open across
a send."""

import asyncio
import contextlib
import importlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import aiohttp

from pestle import models
from pestle.config import Settings
from pestle.db import Database
from pestle.kit.crypto import FieldCipher, UndecryptableField
from pestle.kit.time import utcnow
from pestle.worker import repository, service, webhooks
from pestle.worker.outcome import Outcome

logger = logging.getLogger(__name__)

CHANNEL = "pestle_outbox"
BATCH = 200
SECRETS_KEPT = 1024
JOBS_EVERY = timedelta(seconds=10)


def _optional(name: str) -> ModuleType | None:
    """A worker module another part provides (channels, jobs), if it is there yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


class Worker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        concurrency: int = 32,
        poll: float = 0.5,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
        client: aiohttp.ClientSession | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        # Longer than a send can take (10 s timeout): no other worker takes a delivery in flight.
        self.lease = timedelta(seconds=settings.worker_lease_seconds)
        self.concurrency = concurrency
        self.poll = poll
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.clock = clock
        self.cipher = FieldCipher(settings.signing_key())
        self._client = client
        self._own_client = client is None
        self._wake = asyncio.Event()
        self._jobs_due_at: datetime | None = None
        self._secrets: dict[str, str] = {}
        self.channels = _optional("pestle.worker.channels")
        self.jobs = _optional("pestle.worker.jobs")

    @property
    def client(self) -> aiohttp.ClientSession:
        if self._client is None:
            self._client = webhooks.new_client(self.settings.allow_private_webhooks)
        return self._client

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.close()
            self._client = None

    def _kinds(self) -> list[str]:
        # Email and SMS deliveries wait, pending, until their channel module exists.
        if self.channels is not None and hasattr(self.channels, "deliver"):
            return ["webhook", "email", "sms"]
        return ["webhook"]

    async def fan_out(self, now: datetime) -> int:
        total = 0
        while True:
            async with self.database.transaction() as session:
                count = await repository.fan_out(session, now, BATCH)
            total += count
            if count < BATCH:
                return total

    async def run_once(self, now: datetime | None = None) -> int:
        """One pass: fan out every waiting event, then send every due delivery (in batches,
        until none is due). Returns the attempts made."""
        now = now or self.clock()
        await self.fan_out(now)
        attempts = 0
        semaphore = asyncio.Semaphore(self.concurrency)
        while True:
            async with self.database.transaction() as session:
                claimed = await repository.claim_due(
                    session, now, now + self.lease, max(self.concurrency, BATCH), self._kinds()
                )
            if not claimed:
                return attempts
            sending = {asyncio.create_task(self._attempt(semaphore, item, now)) for item in claimed}
            # Record whatever has finished, in one transaction, while the rest are in flight:
            # under load the batches grow; when idle each attempt is recorded as it finishes.
            while sending:
                finished, sending = await asyncio.wait(sending, return_when="FIRST_COMPLETED")
                await self._record([task.result() for task in finished], now)
            attempts += len(claimed)

    async def _attempt(
        self, semaphore: asyncio.Semaphore, claimed: repository.Claimed, now: datetime
    ) -> service.Attempt | None:
        try:
            if not claimed.subscription.is_active:
                return service.Attempt(claimed, None)
            async with semaphore:
                if claimed.subscription.type == "webhook":
                    return await self._send_webhook(claimed, now)
                return service.Attempt(claimed, await self._send_other(claimed))
        except Exception:
            # One delivery's trouble must not stop the others; its lease brings it back.
            logger.exception("delivery %s failed unexpectedly", claimed.delivery_id)
            return None

    async def _record(self, attempts: list[service.Attempt | None], now: datetime) -> None:
        made = [attempt for attempt in attempts if attempt is not None]
        if not made:
            return
        try:
            async with self.database.transaction() as session:
                disabled = await service.record(session, made, now, self.rng)
        except Exception:
            # Their leases bring the deliveries back; receivers deduplicate by webhook-id.
            logger.exception("recording %d attempts failed", len(made))
            return
        for subscription in disabled:
            await self._tell_owner(subscription)

    def _secret(self, ciphertext: str) -> str:
        # Decrypted once per worker: every delivery of a subscription signs with the same keys.
        if (plain := self._secrets.get(ciphertext)) is None:
            if len(self._secrets) >= SECRETS_KEPT:
                self._secrets.clear()
            plain = self._secrets[ciphertext] = self.cipher.decrypt(ciphertext)
        return plain

    async def _send_webhook(self, claimed: repository.Claimed, now: datetime) -> service.Attempt:
        event = claimed.event
        try:
            secrets = [self._secret(secret) for secret in claimed.secrets]
        except UndecryptableField:
            failure = Outcome(False, True, error="the signing secret cannot be decrypted")
            return service.Attempt(claimed, failure)
        if not secrets or claimed.subscription.url is None:
            failure = Outcome(False, True, error="the subscription has no signing secret")
            return service.Attempt(claimed, failure)
        body = webhooks.envelope(event.event_code, event.data)
        # The wall clock, not the pass's instant: receivers check it against their own clock.
        timestamp = int(utcnow().timestamp())
        request_headers = webhooks.headers(
            claimed.delivery_id, timestamp, body, secrets, event.resource_key, event.sequence
        )
        outcome = await webhooks.send(
            self.client,
            claimed.subscription.url,
            body,
            request_headers,
            now,
            self.settings.allow_private_webhooks,
            self.settings.webhook_retry_statuses,
        )
        logged = {k: v for k, v in request_headers.items() if k != "webhook-signature"}
        return service.Attempt(claimed, outcome, logged)

    async def _send_other(self, claimed: repository.Claimed) -> Outcome:
        # channels.deliver(settings, subscription, user, event) -> Outcome (pestle/worker/channels)
        assert self.channels is not None
        async with self.database.sessions() as session:
            user = await session.get(models.User, claimed.subscription.user_id)
        if user is None:
            return Outcome(False, False, error="the subscriber no longer exists")
        result: Outcome = await self.channels.deliver(
            self.settings, claimed.subscription, user, claimed.event
        )
        return result

    async def _tell_owner(self, disabled: service.Disabled) -> None:
        notify: Any = getattr(self.channels, "notify_disabled", None)
        if notify is None:
            logger.warning(
                "subscription %s disabled (%s); no email channel to tell its owner",
                disabled.subscription_id,
                disabled.reason,
            )
            return
        try:
            async with self.database.sessions() as session:
                subscription = await session.get(models.Subscription, disabled.subscription_id)
                user = (
                    await session.get(models.User, subscription.user_id)
                    if subscription is not None
                    else None
                )
            if subscription is not None and user is not None:
                outcome: Outcome = await notify(self.settings, user, subscription, disabled.reason)
                if not outcome.succeeded:
                    logger.warning("could not email %s: %s", disabled.owner_email, outcome.error)
        except Exception:
            logger.exception(
                "could not email the owner of subscription %s", disabled.subscription_id
            )

    async def _run_jobs(self, now: datetime) -> None:
        run_due = getattr(self.jobs, "run_due", None)
        if run_due is None or (self._jobs_due_at is not None and now < self._jobs_due_at):
            return
        self._jobs_due_at = now + JOBS_EVERY
        try:
            await run_due(self.database, self.settings, now)
        except Exception:
            logger.exception("scheduled jobs failed")

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self, stop: asyncio.Event) -> None:
        """On PostgreSQL, wakes the loop on every `NOTIFY pestle_outbox`; polling covers the
        rest (and everything, if the listening connection is lost)."""
        import asyncpg  # type: ignore[import-untyped]

        dsn = self.database.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError):
                logger.warning("LISTEN %s: cannot connect; polling only", CHANNEL)
                await _wait(stop, 5.0)
                continue
            try:
                await connection.add_listener(CHANNEL, lambda *_: self.wake())
                await stop.wait()
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        listener: asyncio.Task[None] | None = None
        if not self.settings.is_sqlite:
            listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                now = self.clock()
                busy = 0
                try:
                    busy = await self.run_once(now)
                    await self._run_jobs(now)
                except Exception:
                    logger.exception("worker pass failed")
                if busy:
                    continue
                waker = asyncio.create_task(self._wake.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait(
                    {waker, stopper}, timeout=self.poll, return_when="FIRST_COMPLETED"
                )
                waker.cancel()
                stopper.cancel()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
            await self.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@contextlib.asynccontextmanager
async def in_process_worker(database: Database, settings: Settings) -> AsyncIterator[None]:
    """The worker as a task of the serving process when ``settings.worker_in_process`` (SQLite
    by default: one process does everything); stopped with the app."""
    if not settings.worker_in_process:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(database, settings).run_forever(stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=15)
