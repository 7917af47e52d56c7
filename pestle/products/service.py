"""The rules of the catalogue: kinds, tenancy, unique sku/product_code, formulas and stock."""

import secrets
import string
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.exceptions import Conflict, Forbidden, NotFound, RequiredFieldCleared, Unprocessable
from pestle.kit.time import utcnow
from pestle.models.product import PRODUCT_KINDS
from pestle.products import schemas
from pestle.products.repository import (
    NO_STOCK,
    FormulaRepository,
    ProductRepository,
    StockLevel,
    stock_levels,
)

KIND_PREFIX = {"prescription": "RX", "non_prescription": "OTC", "order_material": "MAT"}
_SKU_ALPHABET = string.ascii_uppercase + string.digits
_SKU_LENGTH = 8
_SKU_ATTEMPTS = 5
_NUMBER_ATTEMPTS = 5


class ProductNotFound(NotFound):
    def __init__(self, kind: str, ref: str) -> None:
        super().__init__(f"No {kind} product {ref!r}.")


class ProductExists(Conflict):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"A product with {field} {value} already exists.")


class ProductsBelongToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Pharmacy staff create only global order materials: "
            "any other product belongs to a customer."
        )


class OnlyStaffMakeGlobal(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only pharmacy staff may make an order material global (is_global).")


class GlobalMaterialReadOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__("A global order material can be changed only by pharmacy staff.")


class IsGlobalFixed(Unprocessable):
    def __init__(self) -> None:
        super().__init__("is_global cannot change once the order material exists.")


class UnknownFormula(Unprocessable):
    def __init__(self, ref: object) -> None:
        super().__init__(f"formula_id {ref} names no formula this customer can use.")


class DeaScheduleRequired(Unprocessable):
    def __init__(self) -> None:
        super().__init__("dea_schedule is required when is_controlled_substance is true.")


class DeaScheduleNotAllowed(Unprocessable):
    def __init__(self) -> None:
        super().__init__("dea_schedule is allowed only when is_controlled_substance is true.")


class FormulaNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No formula {ref!r}.")


class FormulaNumberContended(Conflict):
    def __init__(self) -> None:
        super().__init__("Too many formulas are being created at once; retry.")


def new_sku(kind: str) -> str:
    suffix = "".join(secrets.choice(_SKU_ALPHABET) for _ in range(_SKU_LENGTH))
    return f"{KIND_PREFIX[kind]}-{suffix}"


def beyond_use_date(
    category: str, compounded_at: datetime, earliest_ingredient_expiry: datetime | None
) -> datetime:
    """USP <795>: compounded_at plus the category's days, but never past the earliest expiry
    of the ingredient lots used."""
    limit = compounded_at + timedelta(days=schemas.BEYOND_USE_DAYS[category])
    if earliest_ingredient_expiry is None:
        return limit
    return min(limit, earliest_ingredient_expiry)


def _check_dea_schedule(values: dict[str, Any]) -> None:
    if values.get("is_controlled_substance"):
        if values.get("dea_schedule") is None:
            raise DeaScheduleRequired()
    elif values.get("dea_schedule") is not None:
        raise DeaScheduleNotAllowed()


async def _flush(
    repository: ProductRepository, *new: models.Product, values: dict[str, Any]
) -> None:
    """Flushes; a concurrent request that took the sku or product_code between our check and
    our write is the same conflict the check reports."""
    try:
        await repository.flush(*new)
    except IntegrityError as error:
        message = str(error.orig)
        for field in ("product_code", "sku"):
            if field in message and values.get(field) is not None:
                raise ProductExists(field, values[field]) from None
        raise


class ProductService:
    # -- reading ------------------------------------------------------------------------------

    async def stock_levels(
        self,
        session: AsyncSession,
        product_ids: Iterable[uuid.UUID],
        now: datetime | None = None,
    ) -> dict[uuid.UUID, StockLevel]:
        """current_stock and has_inventory for every id, in one grouped query: lots count while
        active and not expired at ``now`` (default: the present)."""
        return await stock_levels(session, product_ids, now)

    async def _views(
        self, session: AsyncSession, rows: list[tuple[models.Product, int | None]]
    ) -> list[schemas.ProductView]:
        levels = await stock_levels(session, [product.id for product, _ in rows])
        return [
            schemas.ProductView(product, levels[product.id], number) for product, number in rows
        ]

    async def grouped(
        self, session: AsyncSession, principal: Principal
    ) -> dict[str, list[schemas.ProductView]]:
        """Every visible product, under its kind; every kind present."""
        rows = await ProductRepository(session, principal.customer_id).listed()
        grouped: dict[str, list[schemas.ProductView]] = {kind: [] for kind in PRODUCT_KINDS}
        for view in await self._views(session, rows):
            grouped[view.product.kind].append(view)
        return grouped

    async def listed(
        self, session: AsyncSession, principal: Principal, kind: str
    ) -> list[schemas.ProductView]:
        rows = await ProductRepository(session, principal.customer_id).listed(kind)
        return await self._views(session, rows)

    async def _find(
        self, session: AsyncSession, principal: Principal, kind: str, ref: str
    ) -> tuple[models.Product, int | None]:
        found = await ProductRepository(session, principal.customer_id).get(kind, ref)
        if found is None:
            raise ProductNotFound(kind, ref)
        return found

    async def get(
        self, session: AsyncSession, principal: Principal, kind: str, ref: str
    ) -> schemas.ProductView:
        return (await self._views(session, [await self._find(session, principal, kind, ref)]))[0]

    async def views_by_id(
        self, session: AsyncSession, product_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, schemas.ProductView]:
        """Products with their stock, whoever owns them: for showing rows already checked."""
        rows = await ProductRepository(session, None).by_ids(product_ids)
        return {view.product.id: view for view in await self._views(session, rows)}

    async def orderable(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID | None,
        kind: str,
        *,
        product_id: uuid.UUID | None = None,
        sku: str | None = None,
        product_code: str | None = None,
    ) -> models.Product | None:
        """The one product of ``kind`` that ``customer_id`` sees with this id, else SKU, else
        product code; None when there is none or more than one."""
        found = await ProductRepository(session, customer_id).orderable(
            kind, product_id=product_id, sku=sku, code=product_code
        )
        return found[0] if len(found) == 1 else None

    async def match_prescription_product(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID | None,
        *,
        product_id: uuid.UUID | None = None,
        product_code: str | None = None,
        name: str | None = None,
    ) -> models.Product | None:
        """The one prescription product ``customer_id`` sees with this id, else this code,
        else this exact name; None when there is none or more than one."""
        found = await ProductRepository(session, customer_id).prescription_products(
            product_id=product_id, product_code=product_code, name=name
        )
        return found[0] if len(found) == 1 else None

    # -- writing ------------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, principal: Principal, kind: str, body: schemas.ProductWrite
    ) -> schemas.ProductView:
        values = body.model_dump()
        if kind == "order_material":
            is_global = values.get("is_global")
            if principal.customer_id is not None and is_global:
                raise OnlyStaffMakeGlobal()
            if principal.customer_id is None and is_global is False:
                raise ProductsBelongToCustomers()
            values["is_global"] = principal.customer_id is None
        elif principal.customer_id is None:
            raise ProductsBelongToCustomers()
        owner = principal.customer_id
        number = await self._resolve_formula(session, owner, values)
        _check_dea_schedule(values)
        repository = ProductRepository(session, principal.customer_id)
        await self._check_unique(repository, owner, kind, values)
        if values.get("sku") is None:
            values["sku"] = await self._free_sku(repository, owner, kind)
        product = models.Product(customer_id=owner, kind=kind, **values)
        await _flush(repository, product, values=values)
        return schemas.ProductView(product, NO_STOCK, number)

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        kind: str,
        ref: str,
        body: schemas.ProductWrite,
    ) -> schemas.ProductView:
        product, number = await self._find(session, principal, kind, ref)
        if product.is_global and principal.customer_id is not None:
            raise GlobalMaterialReadOnly()
        changes = body.model_dump(exclude_unset=True)
        for field in schemas.REQUIRED_FIELDS:
            if field in changes and changes[field] is None:
                raise RequiredFieldCleared(field)
        if "is_global" in changes:
            if changes["is_global"] and principal.customer_id is not None:
                raise OnlyStaffMakeGlobal()
            if changes["is_global"] != product.is_global:
                raise IsGlobalFixed()
        if "formula_id" in changes:
            number = await self._resolve_formula(session, product.customer_id, changes)
        if kind == "prescription":
            current = {
                "is_controlled_substance": product.is_controlled_substance,
                "dea_schedule": product.dea_schedule,
            }
            _check_dea_schedule({**current, **changes})
        repository = ProductRepository(session, principal.customer_id)
        await self._check_unique(repository, product.customer_id, kind, changes, product.id)
        for field, value in changes.items():
            setattr(product, field, value)
        product.updated_at = utcnow()
        await _flush(repository, values=changes)
        return (await self._views(session, [(product, number)]))[0]

    async def _resolve_formula(
        self, session: AsyncSession, owner: uuid.UUID | None, values: dict[str, Any]
    ) -> int | None:
        """Replaces the formula reference in ``values`` by the formula's id; its number."""
        ref = values.get("formula_id")
        if ref is None:
            return None
        formula = await FormulaRepository(session, owner).find(ref)
        if formula is None:
            raise UnknownFormula(ref)
        values["formula_id"] = formula.id
        return formula.number

    async def _check_unique(
        self,
        repository: ProductRepository,
        owner: uuid.UUID | None,
        kind: str,
        values: dict[str, Any],
        other_than: uuid.UUID | None = None,
    ) -> None:
        sku = values.get("sku")
        if sku is not None and await repository.taken(owner, "sku", sku, other_than=other_than):
            raise ProductExists("sku", sku)
        code = values.get("product_code")
        if code is not None and await repository.taken(
            owner, "product_code", code, kind=kind, other_than=other_than
        ):
            raise ProductExists("product_code", code)

    async def _free_sku(
        self, repository: ProductRepository, owner: uuid.UUID | None, kind: str
    ) -> str:
        for _ in range(_SKU_ATTEMPTS):
            sku = new_sku(kind)
            if not await repository.taken(owner, "sku", sku):
                return sku
        # 36^8 suffixes: reaching this means the random source is broken, not bad luck.
        raise RuntimeError("could not generate a free sku")


class FormulaService:
    async def listed(
        self, session: AsyncSession, principal: Principal
    ) -> list[schemas.FormulaView]:
        repository = FormulaRepository(session, principal.customer_id)
        formulas = await repository.listed()
        ingredients = await repository.ingredients([formula.id for formula in formulas])
        return [schemas.FormulaView(f, ingredients[f.id]) for f in formulas]

    async def get(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> schemas.FormulaView:
        repository = FormulaRepository(session, principal.customer_id)
        key: int | uuid.UUID | None
        if ref.isascii() and ref.isdigit():
            key = int(ref)
        else:
            try:
                key = uuid.UUID(ref)
            except ValueError:
                key = None
        formula = None if key is None else await repository.find(key)
        if formula is None:
            raise FormulaNotFound(ref)
        ingredients = await repository.ingredients([formula.id])
        return schemas.FormulaView(formula, ingredients[formula.id])

    async def create(
        self, session: AsyncSession, principal: Principal, body: schemas.FormulaCreate
    ) -> schemas.FormulaView:
        repository = FormulaRepository(session, principal.customer_id)
        fields = body.model_dump(exclude={"ingredients"})
        for _ in range(_NUMBER_ATTEMPTS):
            formula = models.Formula(customer_id=principal.customer_id, **fields)
            if await repository.add_numbered(formula):
                break
        else:
            raise FormulaNumberContended()
        ingredients = [
            models.FormulaIngredient(formula_id=formula.id, position=position, **item.model_dump())
            for position, item in enumerate(body.ingredients)
        ]
        await repository.flush(*ingredients)
        return schemas.FormulaView(formula, ingredients)


product_service = ProductService()
formula_service = FormulaService()
