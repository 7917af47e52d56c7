"""The SQL of search: each entity's search text, kept by the database (migration 0012), and
the ranked queries over it.

On PostgreSQL the text is two stored generated columns (not in the models: the database
writes them), each under a GIN trigram index, so a `LIKE '%...%'` on them is an index scan:
`search_codes` holds the fields made of hex digits and dashes only (ids, dates, phones, NPIs),
`search_text` the rest, and a needle with any other character reads only the latter
(migration 0013). On SQLite it is the `body` of the FTS5 trigram table `search_<table>`,
whose rowid is the source row's rowid; a needle of three characters or more is a MATCH there,
a shorter one (which no trigram can find) a scan."""

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
from sqlalchemy.orm import QueryableAttribute, selectinload
from sqlalchemy.sql.elements import ColumnElement

from pestle import models
from pestle.models.base import Base, OwnedByCustomer

M = TypeVar("M", bound=Base)

_TRIGRAM = 3
_HEXISH = re.compile(r"[0-9a-f-]*")
_WHOLE_DATE = re.compile(r"\|(\d{4})(\d{2})(\d{2})\|")


@dataclass(frozen=True)
class Needles:
    """What a query asks, already normalised: every needle must occur in the search text
    (a whole field is a needle wrapped in `|`); the rank is the score of the first of
    ``ranks`` found in the text, else ``default_rank``."""

    needles: tuple[str, ...]
    ranks: tuple[tuple[str, float], ...]
    default_rank: float
    # The ten digits of a formatted phone number (one of ``needles``): a patient's phone.
    phone: str | None = None

    def exact(self) -> str | None:
        """The whole field that ranks 1, when a row having it in a name, email or external
        id meets every needle (so it is a hit of rank 1 whatever else it holds); None when
        the field may also be an id, a date or a phone (hex digits and dashes only)."""
        if not self.ranks or self.ranks[0][1] != 1.0:
            return None
        field = self.ranks[0][0]
        value = field[1:-1]
        if _HEXISH.fullmatch(value) or not all(needle in field for needle in self.needles):
            return None
        return value


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


def _cat(*parts: ColumnElement[Any] | QueryableAttribute[Any]) -> ColumnElement[Any]:
    """``a || b || ...``; spaces go in as ``_SPACE``, a literal, so that the expression is
    the one migration 0012 indexed (a bound parameter would not match it in a generic plan)."""
    joined: ColumnElement[Any] = parts[0].op("||")(parts[1])
    for part in parts[2:]:
        joined = joined.op("||")(part)
    return joined


_SPACE: ColumnElement[str] = literal_column("' '")


def _patient_fields() -> list[ColumnElement[str]]:
    """The lower-cased patient fields of the search text that may hold more than hex digits
    and dashes, each the expression of an `ix_patient_*_search` B-tree (migration 0012)."""
    patient = models.Patient
    middle = func.coalesce(_cat(patient.middle_name, _SPACE), literal_column("''"))
    return [
        func.lower(patient.first_name),
        func.lower(patient.middle_name),
        func.lower(patient.last_name),
        func.lower(_cat(patient.first_name, _SPACE, patient.last_name)),
        func.lower(_cat(patient.first_name, _SPACE, middle, patient.last_name)),
        func.lower(patient.email),
        func.lower(patient.external_id),
    ]


class SearchText:
    """One table's search text on the session's engine."""

    def __init__(self, model: type[models.Base], sqlite: bool) -> None:
        self.model = model
        self.sqlite = sqlite
        name = model.__tablename__
        self.rowid: ColumnElement[Any] = literal_column(f'"{name}".rowid')
        self.fts = table(f"search_{name}", column("rowid"), column("body", String))
        self.words: ColumnElement[str] = literal_column(f'"{name}".search_text', String)
        self.codes: ColumnElement[str] = literal_column(f'"{name}".search_codes', String)

    def has(self, needle: str) -> ColumnElement[bool]:
        """The row's text contains ``needle``, found through the index."""
        if not self.sqlite:
            pattern = _like_pattern(needle)
            return or_(*(text.like(pattern) for text in self._texts(needle)))
        if len(needle) >= _TRIGRAM:
            phrase = '"' + needle.replace('"', '""') + '"'
            found: ColumnElement[bool] = self.fts.c.body.op("MATCH")(phrase)
        else:
            found = func.instr(self.fts.c.body, needle) > 0
        return self.rowid.in_(select(self.fts.c.rowid).where(found))

    def _texts(self, needle: str) -> list[ColumnElement[str]]:
        """The texts that may hold ``needle``: on PostgreSQL the codes only when it is made of
        hex digits and dashes (and `|` field bounds)."""
        if self.sqlite:
            body = select(self.fts.c.body).where(self.fts.c.rowid == self.rowid)
            return [body.scalar_subquery()]
        if _HEXISH.fullmatch(needle.strip("|")):
            return [self.words, self.codes]
        return [self.words]

    def rank(self, wanted: Needles, *others: "SearchText") -> ColumnElement[float]:
        """The score of the first rank needle in this text (or in ``others``')."""
        searched = (self, *others)
        whens = [
            (
                or_(*(self._in(text, needle) for each in searched for text in each._texts(needle))),
                literal(score, Float),
            )
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
        exact = self.exact_patients(wanted, limit)
        if exact is not None:
            # Ids first: when there are fewer, the rows are not worth loading twice.
            ids = list((await self.session.scalars(exact)).all())
            if len(ids) == limit:
                by_id = select(models.Patient).where(models.Patient.id.in_(ids))
                found = {row.id: row for row in await self.session.scalars(by_id)}
                return [(found[id_], 1.0) for id_ in ids]
        return await self._ranked(self.ranked_patients(wanted), models.Patient, limit)

    def ranked_patients(self, wanted: Needles) -> Select[models.Patient, float]:
        """Every hit with its rank (a whole phone number through the phone's B-tree)."""
        return select(models.Patient, self.patient.rank(wanted)).where(
            self._owned(models.Patient),
            *(
                models.Patient.phone == needle
                if needle == wanted.phone
                else self.patient_has(needle)
                for needle in wanted.needles
            ),
        )

    def exact_patients(self, wanted: Needles, limit: int) -> Select[uuid.UUID] | None:
        """The ids of the ``limit`` oldest of the caller's customer's patients with a name,
        email or external id equal to the query, through the `(customer_id, lower(field), id)`
        B-trees of migration 0012: the first ``limit`` of each field, then the first ``limit``
        of those. When there are ``limit`` of them they are the whole answer (rank 1, oldest
        first), however many patients share a common last name. None when the query has no
        such field (or the caller is staff, whom these indexes do not serve)."""
        value = wanted.exact()
        if value is None or self.customer_id is None:
            return None
        patient = models.Patient
        firsts = [
            select(patient.id)
            .where(patient.customer_id == self.customer_id, field == value)
            .order_by(patient.id)
            .limit(limit)
            .subquery()
            for field in _patient_fields()
        ]
        ids = union(*(select(first.c.id) for first in firsts)).subquery()
        return select(ids.c.id).order_by(ids.c.id).limit(limit)

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
