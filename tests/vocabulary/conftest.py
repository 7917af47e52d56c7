"""A small RXNCONSO.RRF, and fixtures that leave the vocabulary as `migrate.upgrade` seeded it."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from pestle import models
from pestle.vocabulary.service import vocabulary_service
from tests.conftest import Db
from tests.test_cli import migrated_db, migrated_template

__all__ = ["migrated_db", "migrated_template"]

# Lines in the layout of an RxNorm release's rrf/RXNCONSO.RRF (abridged; the atom ids are
# made up). Kept: the RXNORM atoms of term types IN, PIN, BN, SCD, SY, TMSY and PSN. Left out:
# the MeSH and VA atoms, the dose form (DF) and the obsolete (SUPPRESS=O) atom.
RXNCONSO_LINES = [
    "153165|ENG||||||2702013|2702013|153165||RXNORM|BN|153165|Lipitor||N|4096|",
    "235743|ENG||||||1361640|1361640|235743||RXNORM|PIN|235743|metformin hydrochloride||N|4096|",
    "317541|ENG||||||2623513|2623513|317541||RXNORM|DF|317541|Oral Tablet||N|4096|",
    "617310|ENG||||||2410829|2410829|617310||RXNORM|SCD|617310|"
    "atorvastatin 20 MG Oral Tablet||N|4096|",
    "617310|ENG||||||2410830|2410830|617310||RXNORM|SY|617310|"
    "atorvastatin (as atorvastatin calcium trihydrate) 20 MG Oral Tablet||N|4096|",
    "6809|ENG||||||1339131|1339131|6809||RXNORM|IN|6809|metformin||N|4096|",
    "6809|ENG||||||2691574|2691574|D008687||MSH|MH|D008687|Metformin||N|256|",
    "83367|ENG||||||2701487|2701487|83367||RXNORM|IN|83367|atorvastatin||N|4096|",
    "861007|ENG||||||2881224|2881224|861007||RXNORM|SCD|861007|"
    "metformin hydrochloride 500 MG Oral Tablet||N|4096|",
    "861007|ENG||||||3183155|3183155|861007||RXNORM|TMSY|861007|"
    "metFORMIN hydrochloride 500 MG Oral Tablet||N|4096|",
    "861007|ENG||||||3226611|3226611|861007||RXNORM|PSN|861007|"
    "metFORMIN HCl 500 MG Oral Tablet||N|4096|",
    "861007|ENG||||||1000001|1000001|861007||RXNORM|SY|861007|"
    "metformin hydrochloride 0.5 GM Oral Tablet||O|4096|",
    "861007|ENG||||||3303200|3303200|||VANDF|CD|4023979|METFORMIN HCL 500MG TAB||N||",
]
RXNCONSO_CONCEPTS = 6


@pytest.fixture
def rxnconso(tmp_path: Path) -> Path:
    path = tmp_path / "RXNCONSO.RRF"
    path.write_text("\n".join(RXNCONSO_LINES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def rxnorm(db: Db) -> AsyncIterator[Db]:
    """``db``, and afterwards no RxNorm concept: what the test loaded is deleted."""
    yield db
    async with db.database.transaction() as session:
        await session.execute(
            delete(models.RiskFactorConcept).where(models.RiskFactorConcept.source == "rxnorm")
        )


@pytest.fixture
async def builtin(db: Db) -> AsyncIterator[Db]:
    """``db``, and afterwards the built-in vocabulary as shipped, whatever the test changed."""
    yield db
    async with db.database.transaction() as session:
        await vocabulary_service.ensure_builtin(session)
