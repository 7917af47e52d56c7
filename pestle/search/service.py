"""Search: what a query means (phrases, dates of birth, phone numbers, substrings), ranked
hits per entity, and the global mix of them."""

import re
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.exceptions import Unprocessable
from pestle.orders.service import order_service
from pestle.patients.schemas import Patient
from pestle.prescribers.schemas import Prescriber
from pestle.prescriptions.schemas import PrescriptionOut
from pestle.products.schemas import NonPrescriptionProduct, OrderMaterial, PrescriptionProduct
from pestle.products.service import product_service
from pestle.search import schemas
from pestle.search.repository import Needles, SearchRepository

R = TypeVar("R", bound=schemas.Ranked)

EXACT_RANK = 1.0
PREFIX_RANK = 0.75
SUBSTRING_RANK = 0.5

_PHRASE = re.compile(r'"([^"]*)"')
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE_PREFIX = re.compile(r"\d{4}(-\d{0,2}(-\d{0,2})?)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_PHONE = re.compile(r"\+?[\d\s().-]+")
_US_PHONE = 10
_US_PHONE_WITH_COUNTRY = 11
_PRODUCT_SCHEMAS: dict[str, type[NonPrescriptionProduct | OrderMaterial]] = {
    "prescription": PrescriptionProduct,
    "non_prescription": NonPrescriptionProduct,
    "order_material": OrderMaterial,
}
_PRODUCT_RESULTS: dict[str, type[schemas.Ranked]] = {
    "prescription": schemas.PrescriptionProductResult,
    "non_prescription": schemas.NonPrescriptionProductResult,
    "order_material": schemas.OrderMaterialResult,
}
_GLOBAL_PRODUCT_RESULTS: dict[str, type[schemas.Ranked]] = {
    **_PRODUCT_RESULTS,
    "prescription": schemas.PrescriptionProductHit,
}
_GLOBAL_PRODUCT_TYPES = {"prescription": "prescription_product"}


class BlankQuery(Unprocessable):
    def __init__(self) -> None:
        super().__init__("q must contain something to search for")


def _field(value: str) -> str:
    """A needle matching a whole field."""
    return f"|{value}|"


def _us_date(text: str) -> str | None:
    """MM/DD/YYYY as the stored YYYY-MM-DD, when ``text`` is one whole."""
    match = _US_DATE.fullmatch(text)
    if match is None:
        return None
    month, day, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _phone_digits(text: str) -> str | None:
    """The digits of a formatted phone number (not of a date or a bare number)."""
    if not _PHONE.fullmatch(text) or _ISO_DATE_PREFIX.fullmatch(text) or text.isdigit():
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) == _US_PHONE_WITH_COUNTRY and digits.startswith("1"):
        digits = digits[1:]
    return digits or None


def _filter(term: str) -> str:
    """The needle that finds ``term``: an ISO date (or its year and month) is looked for as
    the start of the YYYYMMDD field, a word a trigram index can narrow down, where dashed
    dates share their trigrams with every other date."""
    match = _ISO_DATE.fullmatch(term)
    if match is None:
        return term
    year, month, day = match.groups()
    return f"|{year}{month}{day}|" if day else f"|{year}{month}"


def _clean(text: str) -> str:
    # `|` separates fields in the search text: typed, it would only match across fields.
    return " ".join(text.replace("|", " ").split()).lower()


def parse(q: str) -> Needles:
    """What ``q`` asks: quoted phrases match a whole field, MM/DD/YYYY a whole date of birth,
    a formatted phone number its digits (a whole one of ten digits: a patient's phone), and
    every other word a substring of any field."""
    fields = []
    for phrase in (_clean(found) for found in _PHRASE.findall(q)):
        if phrase:
            date = _us_date(phrase)
            fields.append(_filter(date) if date else _field(phrase))
    rest = _clean(_PHRASE.sub(" ", q).replace('"', " "))
    terms: list[str] = []
    phone = None
    if rest:
        whole = _us_date(rest) or _phone_digits(rest)
        if whole is not None and _US_DATE.fullmatch(rest):
            fields.append(_filter(whole))
        elif whole is not None:
            terms.append(whole)
            phone = whole if len(whole) == _US_PHONE else None
        else:
            for word in rest.split():
                date = _us_date(word)
                if date is not None:
                    fields.append(_filter(date))
                else:
                    terms.append(word)
    if not fields and not terms:
        raise BlankQuery()
    if not terms:
        return Needles(tuple(fields), (), EXACT_RANK)
    joined = " ".join(terms)
    ranks = ((_field(joined), EXACT_RANK), (f"|{joined}", PREFIX_RANK))
    return Needles((*fields, *map(_filter, terms)), ranks, SUBSTRING_RANK, phone)


class SearchService:
    async def patients(
        self, session: AsyncSession, principal: Principal, q: str, limit: int
    ) -> list[schemas.PatientResult]:
        repository = SearchRepository(session, principal.customer_id)
        return await self._patients_of(repository, parse(q), limit, schemas.PatientResult)

    async def orders(
        self, session: AsyncSession, principal: Principal, q: str, limit: int
    ) -> list[schemas.OrderResult]:
        repository = SearchRepository(session, principal.customer_id)
        return await self._orders_of(session, repository, parse(q), limit, schemas.OrderResult)

    async def products(
        self, session: AsyncSession, principal: Principal, q: str, limit: int
    ) -> list[Any]:
        found = await SearchRepository(session, principal.customer_id).products(parse(q), limit)
        return await self._products(session, found, _PRODUCT_RESULTS, {})

    async def _products(
        self,
        session: AsyncSession,
        found: list[tuple[models.Product, float]],
        results: dict[str, type[schemas.Ranked]],
        result_types: dict[str, str],
    ) -> list[Any]:
        views = await product_service.views_by_id(session, {row.id for row, _ in found})
        return [
            results[row.kind].ranked(
                _PRODUCT_SCHEMAS[row.kind].model_validate(views[row.id]),
                rank,
                result_type=result_types.get(row.kind, row.kind),
            )
            for row, rank in found
        ]

    async def everything(
        self, session: AsyncSession, principal: Principal, q: str, limit: int
    ) -> list[Any]:
        """The best ``limit`` hits of every kind, by rank; ties keep the order patient,
        order, prescriber, prescription, product, and within a kind the oldest first."""
        wanted = parse(q)
        repository = SearchRepository(session, principal.customer_id)
        hits: list[Any] = [
            *await self._patients_of(
                repository, wanted, limit, schemas.PatientHit, result_type="patient"
            ),
            *await self._orders_of(
                session, repository, wanted, limit, schemas.OrderHit, result_type="order"
            ),
            *[
                schemas.PrescriberHit.ranked(
                    Prescriber.model_validate(row), rank, result_type="prescriber"
                )
                for row, rank in await repository.prescribers(wanted, limit)
            ],
            *[
                schemas.PrescriptionHit.ranked(
                    PrescriptionOut.model_validate(row), rank, result_type="prescription"
                )
                for row, rank in await repository.prescriptions(wanted, limit)
            ],
            *await self._products(
                session,
                await repository.products(wanted, limit),
                _GLOBAL_PRODUCT_RESULTS,
                _GLOBAL_PRODUCT_TYPES,
            ),
        ]
        # sorted() is stable: equal ranks keep the order above.
        return sorted(hits, key=lambda hit: -hit.rank)[:limit]

    async def _patients_of(
        self,
        repository: SearchRepository,
        wanted: Needles,
        limit: int,
        result: type[R],
        **extra: str,
    ) -> list[R]:
        # Validated once, with the rank: a date of birth shared by many patients makes
        # this loop the bulk of the search's time.
        return [
            result.model_validate({**Patient.fields_of(row), "rank": rank, **extra})
            for row, rank in await repository.patients(wanted, limit)
        ]

    async def _orders_of(
        self,
        session: AsyncSession,
        repository: SearchRepository,
        wanted: Needles,
        limit: int,
        result: type[R],
        **extra: str,
    ) -> list[R]:
        found = await repository.orders(wanted, limit)
        views = await order_service.views(session, [row for row, _ in found])
        return [
            result.ranked(view, rank, is_patient_order=True, **extra)
            for view, (_, rank) in zip(views, found, strict=True)
        ]


search_service = SearchService()
