"""The rules of the Barcoding area.

A barcode belongs to its entity's customer (none for staff users, global products and the
pharmacy's own lots). A customer user issues, lists, verifies and deactivates barcodes only
for its own customer's entities; pharmacy staff for any. Anything else reads as unknown (404).
"""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.barcodes import gs1, schemas, symbols
from pestle.barcodes.repository import BarcodeRepository, Entity
from pestle.exceptions import Gone, NotFound
from pestle.kit.ids import parse_uuid
from pestle.kit.ndc import NdcSegments
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.time import utcnow

USER_BADGE_LIFETIME = timedelta(hours=1)


class EntityNotFound(NotFound):
    def __init__(self, entity_type: str, ref: object) -> None:
        super().__init__(f"No {entity_type} {str(ref)!r}.")


class BarcodeNotFound(NotFound):
    def __init__(self, what: str) -> None:
        super().__init__(f"No barcode {what}.")


class NoActiveBarcode(NotFound):
    def __init__(self, entity_type: str, entity_id: uuid.UUID) -> None:
        super().__init__(
            f"{entity_type} {entity_id} has no active barcode; issue one with "
            f"POST /api/v1/barcodes/{entity_type}/{entity_id}."
        )


class BarcodeInactive(Gone):
    def __init__(self, barcode: models.Barcode) -> None:
        when = barcode.deactivated_at
        at = f" at {when.isoformat().replace('+00:00', 'Z')}" if when else ""
        super().__init__(f"This barcode was deactivated{at}; issue a new one.")


class BarcodeExpired(Gone):
    def __init__(self, expired_at: datetime) -> None:
        at = expired_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        super().__init__(f"This barcode expired at {at}; issue a new one.")


class BarcodeEntityGone(Gone):
    def __init__(self, entity_type: str) -> None:
        super().__init__(f"The {entity_type} this barcode was issued for is inactive or deleted.")


def wire(barcode: models.Barcode, *, include_image: bool = True) -> schemas.Barcode:
    return schemas.Barcode(
        id=barcode.id,
        barcode_value=barcode.barcode_value,
        entity_type=schemas.EntityType(barcode.entity_type),
        entity_id=barcode.entity_id,
        created_at=barcode.created_at,
        expires_at=barcode.expires_at,
        image=symbols.data_uri(barcode.barcode_value) if include_image else None,
        is_active=barcode.is_active,
        deactivated_at=barcode.deactivated_at,
    )


def _entity_ref(entity_type: str, ref: str) -> uuid.UUID | str:
    parsed = parse_uuid(ref)
    return parsed if parsed is not None else ref


class BarcodeService:
    async def _entity(self, repository: BarcodeRepository, entity_type: str, ref: str) -> Entity:
        entity = await repository.entity(entity_type, _entity_ref(entity_type, ref))
        if entity is None:
            raise EntityNotFound(entity_type, ref)
        return entity

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        entity_type: str,
        ref: str,
        body: schemas.BarcodeCreate | None,
    ) -> schemas.Barcode:
        repository = BarcodeRepository(session, principal.customer_id)
        entity = await self._entity(repository, entity_type, ref)
        # Blend derives the expiry from "now" before the row is stamped; so does Pestle.
        now = utcnow()
        lifetime = (
            timedelta(seconds=body.expires_in)
            if body is not None and body.expires_in is not None
            else USER_BADGE_LIFETIME
            if entity_type == "user"
            else None
        )
        barcode = models.Barcode(
            customer_id=entity.customer_id,
            entity_type=entity_type,
            entity_id=entity.id,
            barcode_value=f"{entity_type.upper()}-{entity.id}-{secrets.token_hex(4)}",
            expires_at=None if lifetime is None else now + lifetime,
            created_by_id=principal.user.id,
        )
        await repository.add(barcode)
        return wire(barcode)

    async def listed(
        self,
        session: AsyncSession,
        principal: Principal,
        entity_type: str,
        ref: str,
        wanted: PageRequest,
        *,
        only_active: bool,
        include_images: bool,
    ) -> Page[schemas.Barcode]:
        repository = BarcodeRepository(session, principal.customer_id)
        entity = await self._entity(repository, entity_type, ref)
        page = await repository.issued_for(entity_type, entity.id, wanted, only_active=only_active)
        items = [wire(barcode, include_image=include_images) for barcode in page.items]
        return Page(items=items, total=page.total, request=page.request)

    async def verify(
        self, session: AsyncSession, principal: Principal, value: str
    ) -> schemas.Barcode:
        repository = BarcodeRepository(session, principal.customer_id)
        # Keyboard-wedge scanners end the value with a newline.
        barcode = await repository.by_value(value.strip())
        if barcode is None:
            raise BarcodeNotFound("with this value")
        if not barcode.is_active:
            raise BarcodeInactive(barcode)
        if barcode.expires_at is not None and barcode.expires_at <= utcnow():
            raise BarcodeExpired(barcode.expires_at)
        entity = await repository.entity(barcode.entity_type, barcode.entity_id)
        if entity is None or not entity.is_active:
            raise BarcodeEntityGone(barcode.entity_type)
        return wire(barcode)

    async def deactivate(
        self,
        session: AsyncSession,
        principal: Principal,
        entity_type: str,
        ref: str,
        barcode_id: uuid.UUID,
    ) -> None:
        """Idempotent: a second call keeps the first deactivated_at."""
        repository = BarcodeRepository(session, principal.customer_id)
        entity = await self._entity(repository, entity_type, ref)
        barcode = await repository.of_entity(entity_type, entity.id, barcode_id)
        if barcode is None:
            raise BarcodeNotFound(f"{barcode_id} for {entity_type} {entity.id}")
        if barcode.is_active:
            barcode.is_active = False
            barcode.deactivated_at = utcnow()
            await session.flush()

    async def label(
        self,
        session: AsyncSession,
        principal: Principal,
        entity_type: str,
        ref: str,
        symbol: schemas.SymbolFormat,
        scale: int,
    ) -> bytes:
        repository = BarcodeRepository(session, principal.customer_id)
        entity = await self._entity(repository, entity_type, ref)
        barcode = await repository.newest_usable(entity_type, entity.id)
        if barcode is None:
            raise NoActiveBarcode(entity_type, entity.id)
        # A large label takes a fifth of a second to draw: not on the event loop.
        draw = partial(
            symbols.png_bytes, barcode.barcode_value, symbol, scale=scale, quiet_zone=True
        )
        return await anyio.to_thread.run_sync(draw)

    async def parse_gs1(
        self, session: AsyncSession, principal: Principal, scanned: str
    ) -> schemas.Gs1Parsed:
        data = gs1.parse(scanned)
        repository = BarcodeRepository(session, principal.customer_id)
        item_lots = await repository.lots_of_item(
            data.gtin, data.ndc_digits, data.upc, data.batch_number
        )
        products, by_lot = await repository.products_fed_by([lot.id for lot in item_lots])
        batch_lots = [
            lot
            for lot in item_lots
            if data.batch_number is None or lot.batch_number == data.batch_number
        ]
        return schemas.Gs1Parsed(
            gtin=data.gtin,
            ndc=data.ndc_digits,
            batch_number=data.batch_number,
            expiration_date=data.expiration_date,
            serial_number=data.serial_number,
            is_expired=data.expiration_date is not None and data.expiration_date < utcnow().date(),
            elements=[
                schemas.Gs1Element(ai=e.ai, title=e.title, value=e.value) for e in data.elements
            ],
            inventory_lots=[_matched_lot(lot, by_lot.get(lot.id, [])) for lot in batch_lots],
            products=[
                schemas.MatchedProduct(id=p.id, kind=p.kind, sku=p.sku, name=p.name)
                for p in products
            ],
        )


def _matched_lot(lot: models.InventoryLot, product_ids: list[uuid.UUID]) -> schemas.MatchedLot:
    ndc = (
        NdcSegments(lot.ndc_labeler, lot.ndc_product, lot.ndc_package).hyphenated
        if lot.ndc_labeler and lot.ndc_product and lot.ndc_package
        else None
    )
    return schemas.MatchedLot(
        id=lot.id,
        type=lot.type,
        batch_number=lot.batch_number,
        expiration_date=lot.expiration_date,
        ndc=ndc,
        gtin=lot.gtin,
        upc=lot.upc,
        current_quantity=lot.current_quantity,
        is_active=lot.is_active,
        product_ids=product_ids,
    )


barcode_service = BarcodeService()
