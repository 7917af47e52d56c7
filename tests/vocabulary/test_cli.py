"""`pestle vocab load`, run as a subprocess against a temporary SQLite database."""

from pathlib import Path

import pytest

from pestle.config import Settings
from pestle.db import Database
from pestle.vocabulary.service import vocabulary_service
from tests.conftest import TEST_SECRET_KEY
from tests.test_cli import SqliteDb, assert_refused
from tests.vocabulary.conftest import RXNCONSO_CONCEPTS, RXNCONSO_LINES
from tests.vocabulary.test_service import BUILTIN_COUNTS

LOADED = [
    ("6809", "IN", "metformin"),
    ("83367", "IN", "atorvastatin"),
    ("153165", "BN", "Lipitor"),
    ("235743", "PIN", "metformin hydrochloride"),
    ("617310", "SCD", "atorvastatin 20 MG Oral Tablet"),
    ("861007", "SCD", "metformin hydrochloride 500 MG Oral Tablet"),
]


def rxnorm_concepts(db: SqliteDb) -> list[tuple[str, str, str]]:
    return [
        (rxcui, tty, name)
        for rxcui, tty, name in db.query(
            "SELECT rxcui, tty, name FROM risk_factor_concept WHERE source = 'rxnorm' "
            "ORDER BY CAST(rxcui AS INTEGER)"
        )
    ]


def row_counts(db: SqliteDb) -> tuple[int, int]:
    [(concepts, names)] = db.query(
        "SELECT (SELECT count(*) FROM risk_factor_concept),"
        " (SELECT count(*) FROM risk_factor_concept_name)"
    )
    return concepts, names


def test_db_upgrade_seeds_the_built_in_vocabulary(migrated_db: SqliteDb) -> None:
    counts = migrated_db.query(
        "SELECT type, count(*) FROM risk_factor_concept WHERE source = 'pestle' GROUP BY type"
    )
    assert dict(counts) == BUILTIN_COUNTS


def test_loads_the_file_once(migrated_db: SqliteDb, rxnconso: Path) -> None:
    result = migrated_db.run(f"vocab load {rxnconso}")

    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"loaded {RXNCONSO_CONCEPTS} concepts from {rxnconso}\n",
        "",
    )
    assert rxnorm_concepts(migrated_db) == LOADED
    loaded = row_counts(migrated_db)

    again = migrated_db.run(f"vocab load {rxnconso}")

    assert (again.returncode, again.stdout, again.stderr) == (
        0,
        f"loaded 0 concepts from {rxnconso}\n",
        "",
    )
    assert row_counts(migrated_db) == loaded


async def test_what_it_loads_is_matched(migrated_db: SqliteDb, rxnconso: Path) -> None:
    assert migrated_db.run(f"vocab load {rxnconso}").returncode == 0

    database = Database(Settings(database_url=migrated_db.url, secret_key=TEST_SECRET_KEY))
    try:
        async with database.transaction() as session:
            exact = await vocabulary_service.match(
                session, "medication", "metformin hydrochloride 500 MG Oral Tablet"
            )
            synonym = await vocabulary_service.match(
                session, "medication", "metFORMIN HCl 500 MG Oral Tablet"
            )
    finally:
        await database.dispose()

    assert exact is not None
    assert synonym is not None
    assert (exact.concept.rxcui, exact.concept.source) == ("861007", "rxnorm")
    assert (exact.confidence, exact.via_synonym, exact.match_type) == (1.0, False, "product")
    assert synonym.concept.id == exact.concept.id
    assert (synonym.confidence, synonym.via_synonym, synonym.match_type) == (1.0, True, "product")


def test_a_missing_file_is_one_line(migrated_db: SqliteDb, tmp_path: Path) -> None:
    before = row_counts(migrated_db)
    missing = tmp_path / "RXNCONSO.RRF"

    assert_refused(migrated_db.run(f"vocab load {missing}"), f"pestle: {missing}: no such file")

    assert row_counts(migrated_db) == before


def test_a_directory_is_one_line(migrated_db: SqliteDb, tmp_path: Path) -> None:
    assert_refused(migrated_db.run(f"vocab load {tmp_path}"), f"pestle: {tmp_path}: Is a directory")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"RXCUI,STR\n6809,metformin\n", "line 1 does not have its 18 fields"),
        (b"6809|ENG|metformin|\n", "line 1 does not have its 18 fields"),
        (
            ("\n".join([*RXNCONSO_LINES[:4], "x" + RXNCONSO_LINES[4]]) + "\n").encode(),
            "line 5 does not have its 18 fields",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "it is not UTF-8 text"),
        (b"", "it is empty"),
        (b"\n\n", "it is empty"),
    ],
    ids=["csv", "short", "bad-line-5", "binary", "empty", "blank"],
)
def test_a_file_that_is_not_rxnconso_is_one_line_and_loads_nothing(
    migrated_db: SqliteDb, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "RXNCONSO.RRF"
    path.write_bytes(content)
    before = row_counts(migrated_db)

    assert_refused(
        migrated_db.run(f"vocab load {path}"),
        f"pestle: {path} is not an RxNorm RXNCONSO.RRF file: {reason}",
    )

    assert row_counts(migrated_db) == before
    assert rxnorm_concepts(migrated_db) == []
