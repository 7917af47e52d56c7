"""The SQL of search: each entity's search text, kept by the database (migration 0012), and
the ranked queries over it.

On PostgreSQL the text is the stored generated column `search_text` (not in the models: the
database writes it) under a GIN trigram index, so a `LIKE '%...%'` on it is an index scan.
On SQLite it is the `body` of the FTS5 trigram table `search_<table>`, whose rowid is the
source row's rowid; a needle of three characters or more is a MATCH there, a shorter one
(which no trigram can find) a scan."""

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import (
    Float,
    Select,
    String,
    and_,
    case,
    column,
    desc,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from pestle import models
from pestle.models.base import Base, OwnedByCustomer

M = TypeVar("M", bound=Base)

_TRIGRAM = 3
_WHOLE_DATE = re.compile(r"\|(\d{4})(\d{2})(\d{2})\|")


@dataclass(frozen=True)
class Needles:
    """What a query asks, already normalised: every needle must occur in the search text
    (a whole field is a needle wrapped in `|`); the rank is the score of the first of
    ``ranks`` found in the text, else ``default_rank``."""

    needles: tuple[str, ...]
    ranks: tuple[tuple[str, float], ...]
    default_rank: float


def _birth_date(needle: str) -> date | None:
    match = _WHOLE_DATE.fullmatch(needle)
    if match is None:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SearchText:
    """One table's search text on the session's engine."""

    def __init__(self, model: type[models.Base], sqlite: bool) -> None:
        self.model = model
        self.sqlite = sqlite
        name = model.__tablename__
        self.rowid: ColumnElement[Any] = literal_column(f'"{name}".rowid')
        self.fts = table(f"search_{name}", column("rowid"), column("body", String))
        self.column: ColumnElement[str] = literal_column(f'"{name}".search_text', String)

    def has(self, needle: str) -> ColumnElement[bool]:
        """The row's text contains ``needle``, found through the index."""
        if not self.sqlite:
            return self.column.like(_like_pattern(needle))
        if len(needle) >= _TRIGRAM:
            phrase = '"' + needle.replace('"', '""') + '"'
            found: ColumnElement[bool] = self.fts.c.body.op("MATCH")(phrase)
        else:
            found = func.instr(self.fts.c.body, needle) > 0
        return self.rowid.in_(select(self.fts.c.rowid).where(found))

    def text(self) -> ColumnElement[str]:
        if not self.sqlite:
            return self.column
        return select(self.fts.c.body).where(self.fts.c.rowid == self.rowid).scalar_subquery()

    def rank(self, wanted: Needles, *others: "SearchText") -> ColumnElement[float]:
        """The score of the first rank needle in this text (or in ``others``')."""
        texts = [self.text(), *(other.text() for other in others)]
        whens = [
            (or_(*(self._in(text, needle) for text in texts)), literal(score, Float))
            for needle, score in wanted.ranks
        ]
        if not whens:
            return literal(wanted.default_rank, Float).label("rank")
        return case(*whens, else_=literal(wanted.default_rank, Float)).label("rank")

    def _in(self, text: ColumnElement[str], needle: str) -> ColumnElement[bool]:
        if self.sqlite:
            return func.instr(text, needle) > 0
        return text.like(_like_pattern(needle))


class SearchRepository:
    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        """``customer_id`` None is pharmacy staff, who search every customer's rows."""
        self.session = session
        self.customer_id = customer_id
        sqlite = session.get_bind().dialect.name == "sqlite"
        self.patient = SearchText(models.Patient, sqlite)
        self.order = SearchText(models.Order, sqlite)
        self.product = SearchText(models.Product, sqlite)
        self.prescriber = SearchText(models.Prescriber, sqlite)
        self.prescription = SearchText(models.Prescription, sqlite)

    def _owned(self, model: type[OwnedByCustomer]) -> ColumnElement[bool]:
        if self.customer_id is None:
            return true()
        owned: ColumnElement[bool] = model.customer_id == self.customer_id
        return owned

    async def _ranked(
        self, statement: Select[M, float], model: type[M], limit: int
    ) -> list[tuple[M, float]]:
        ordered = statement.order_by(desc("rank"), model.__table__.c.id).limit(limit)
        return [(row[0], float(row[1])) for row in await self.session.execute(ordered)]

    async def patients(self, wanted: Needles, limit: int) -> list[tuple[models.Patient, float]]:
        patient = self.patient
        statement = select(models.Patient, patient.rank(wanted)).where(
            self._owned(models.Patient), *(self.patient_has(needle) for needle in wanted.needles)
        )
        return await self._ranked(statement, models.Patient, limit)

    def patient_has(self, needle: str) -> ColumnElement[bool]:
        """A whole YYYYMMDD field is a date of birth, which the (customer_id, date_of_birth)
        B-tree finds: the trigrams of eight digits are shared by most rows."""
        born = _birth_date(needle)
        if born is None:
            return self.patient.has(needle)
        return models.Patient.date_of_birth == born

    def _order_has(self, needle: str) -> ColumnElement[bool]:
        """The order's own fields, or its patient's, contain ``needle``: two index lookups."""
        by_patient = select(models.Patient.id).where(self.patient_has(needle))
        return models.Order.id.in_(
            union(
                select(models.Order.id).where(self.order.has(needle)),
                select(models.Order.id).where(models.Order.patient_id.in_(by_patient)),
            )
        )

    async def orders(self, wanted: Needles, limit: int) -> list[tuple[models.Order, float]]:
        statement = (
            select(models.Order, self.order.rank(wanted, self.patient))
            .join(models.Patient, models.Patient.id == models.Order.patient_id)
            .where(
                self._owned(models.Order), *(self._order_has(needle) for needle in wanted.needles)
            )
        )
        return await self._ranked(statement, models.Order, limit)

    async def products(self, wanted: Needles, limit: int) -> list[tuple[models.Product, float]]:
        product = models.Product
        # A customer sees its own products and the pharmacy's global materials.
        visible = (
            true()
            if self.customer_id is None
            else or_(
                product.customer_id == self.customer_id,
                and_(product.customer_id.is_(None), product.is_global),
            )
        )
        statement = select(product, self.product.rank(wanted)).where(
            visible, *(self.product.has(needle) for needle in wanted.needles)
        )
        return await self._ranked(statement, product, limit)

    async def prescribers(
        self, wanted: Needles, limit: int
    ) -> list[tuple[models.Prescriber, float]]:
        prescriber = models.Prescriber
        statement = (
            select(prescriber, self.prescriber.rank(wanted))
            .where(
                self._owned(prescriber),
                *(self.prescriber.has(needle) for needle in wanted.needles),
            )
            .options(
                selectinload(prescriber.addresses),
                selectinload(prescriber.credentials),
                selectinload(prescriber.restrictions),
                selectinload(prescriber.qualifications),
            )
        )
        return await self._ranked(statement, prescriber, limit)

    async def prescriptions(
        self, wanted: Needles, limit: int
    ) -> list[tuple[models.Prescription, float]]:
        prescription = models.Prescription
        statement = select(prescription, self.prescription.rank(wanted)).where(
            self._owned(prescription),
            *(self.prescription.has(needle) for needle in wanted.needles),
        )
        return await self._ranked(statement, prescription, limit)
