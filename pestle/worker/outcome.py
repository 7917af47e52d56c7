"""What one delivery attempt came to, for every channel, and when to try again.

The schedule of DESIGN.md §3: after the 1st failure wait 5 s, then 5 min, 30 min, 2 h, 5 h,
10 h, 10 h; after the 8th failure give up. Each wait gets up to 10 % random jitter (so that a
receiver coming back is not hit by every retry at once), and a `Retry-After` longer than the
wait is honoured."""

import random
from dataclasses import dataclass
from datetime import timedelta

SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.1
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    # Retried on the schedule when true; a permanent failure (e.g. a 400) is not.
    retryable: bool
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    retry_after: timedelta | None = None
    # 410 Gone: the receiver asks never to be called again.
    disables_subscription: bool = False


def next_delay(
    failures: int, retry_after: timedelta | None = None, rng: random.Random | None = None
) -> timedelta | None:
    """The wait before the next attempt after ``failures`` failed ones; None: give up."""
    if failures < 1 or failures > len(SCHEDULE):
        return None
    base = SCHEDULE[failures - 1]
    jitter = (rng or random).uniform(0, JITTER)
    delay = base * (1 + jitter)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay
