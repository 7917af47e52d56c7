import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.kit.ids import new_id

Concept = models.RiskFactorConcept
Name = models.RiskFactorConceptName
BUILTIN_SOURCE = "pestle"
# The number of names and the newest name's id: any name added or removed changes it.
VocabularyVersion = tuple[int, uuid.UUID | None]


@dataclass(frozen=True)
class NameRow:
    concept_id: uuid.UUID
    normalized: str
    is_synonym: bool


@dataclass(frozen=True)
class StoredName(NameRow):
    id: uuid.UUID


# The built-in vocabulary wins a tie with a loaded release, and a concept's own name wins a tie
# with a synonym; the name and the id make the order total.
_PREFERENCE = (
    case((Concept.source == BUILTIN_SOURCE, 0), else_=1),
    Name.is_synonym,
    Concept.name,
    Concept.id,
)


class VocabularyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def database_key(self) -> str:
        """Which database the session talks to, for caches kept per database."""
        bind: Engine | Connection = self.session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        return engine.url.render_as_string(hide_password=True)

    async def get(self, concept_id: uuid.UUID) -> models.RiskFactorConcept | None:
        return await self.session.get(Concept, concept_id)

    async def find_exact(
        self, risk_type: str, normalized: str
    ) -> tuple[models.RiskFactorConcept, bool] | None:
        """The preferred concept of ``risk_type`` named ``normalized``, and if by a synonym."""
        row = (
            await self.session.execute(
                select(Concept, Name.is_synonym)
                .join(Name, Name.concept_id == Concept.id)
                .where(Name.normalized == normalized, Concept.type == risk_type)
                .order_by(*_PREFERENCE)
                .limit(1)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def names_of_type(self, risk_type: str) -> list[NameRow]:
        """Every name of every concept of ``risk_type``, preferred first."""
        rows = await self.session.execute(
            select(Name.concept_id, Name.normalized, Name.is_synonym)
            .join(Concept, Name.concept_id == Concept.id)
            .where(Concept.type == risk_type)
            .order_by(*_PREFERENCE, Name.normalized)
        )
        return [
            NameRow(concept_id, normalized, synonym) for concept_id, normalized, synonym in rows
        ]

    async def version(self) -> VocabularyVersion:
        count = await self.session.scalar(select(func.count()).select_from(Name))
        newest = await self.session.scalar(select(Name.id).order_by(Name.id.desc()).limit(1))
        return count or 0, newest

    async def concepts_of_source(self, source: str) -> list[models.RiskFactorConcept]:
        return list(await self.session.scalars(select(Concept).where(Concept.source == source)))

    async def names_of(self, concept_ids: Iterable[uuid.UUID]) -> list[StoredName]:
        ids = list(concept_ids)
        if not ids:
            return []
        rows = await self.session.execute(
            select(Name.id, Name.concept_id, Name.normalized, Name.is_synonym).where(
                Name.concept_id.in_(ids)
            )
        )
        return [
            StoredName(id=name_id, concept_id=concept_id, normalized=text, is_synonym=synonym)
            for name_id, concept_id, text, synonym in rows
        ]

    async def rxcuis_of_source(self, source: str) -> set[str]:
        rows = await self.session.scalars(
            select(Concept.rxcui).where(Concept.source == source, Concept.rxcui.is_not(None))
        )
        return {rxcui for rxcui in rows if rxcui is not None}

    async def add_new_concepts(self, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
        """Inserts the rows whose id is not taken yet; returns the ids actually inserted.

        Two processes seeding at once both try: the loser inserts nothing instead of failing.
        """
        if not rows:
            return set()
        dialect = self.session.get_bind().dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Concept)
        inserted = await self.session.scalars(
            statement.on_conflict_do_nothing(index_elements=[Concept.id]).returning(Concept.id),
            list(rows),
        )
        return set(inserted)

    async def add_concepts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Concept), list(rows))

    async def add_names(self, names: Sequence[NameRow]) -> None:
        if names:
            await self.session.execute(
                insert(Name),
                [
                    {
                        "id": new_id(),
                        "concept_id": name.concept_id,
                        "normalized": name.normalized,
                        "is_synonym": name.is_synonym,
                    }
                    for name in names
                ],
            )

    async def delete_names(self, name_ids: Iterable[uuid.UUID]) -> None:
        ids = list(name_ids)
        if ids:
            await self.session.execute(delete(Name).where(Name.id.in_(ids)))
