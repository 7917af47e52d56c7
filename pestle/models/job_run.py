from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pestle.models.base import Base


class JobRun(Base):
    """The last run of one of the worker's scheduled jobs. Workers claim a run by moving
    ``last_started_at`` forward with one guarded UPDATE, so that however many of them tick, a
    job runs at most once per interval."""

    __tablename__ = "job_run"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    # What the last finished run did ("emitted 3 events") or why it failed.
    last_result: Mapped[str | None] = mapped_column(Text)
    last_succeeded: Mapped[bool | None]
    # After a failure: when to try again, sooner than a whole interval.
    retry_at: Mapped[datetime | None]
