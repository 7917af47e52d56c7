"""The vocabulary service on both engines: splitting, matching, seeding and loading RxNorm."""

import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from pestle import models
from pestle.vocabulary import service as service_module
from pestle.vocabulary.service import (
    BUILTIN_NAMESPACE,
    NotRxnconso,
    VocabularyService,
    builtin_concept_id,
    builtin_concepts,
    normalize,
    split_text,
    vocabulary_service,
)
from tests.conftest import Db
from tests.vocabulary.conftest import RXNCONSO_CONCEPTS, RXNCONSO_LINES

Concept = models.RiskFactorConcept
Name = models.RiskFactorConceptName
LEVOTHYROXINE_ID = uuid.UUID("e887cdf8-b328-5420-8847-110bbd6487ed")
LEVOTHYROXINE_NAMES = [
    ("levothyroxine", False),
    ("synthroid", True),
    ("levoxyl", True),
    ("unithroid", True),
    ("euthyrox", True),
    ("tirosint", True),
    ("levo t", True),
    ("l thyroxine", True),
    ("t4", True),
    ("levothyroxine sodium", True),
]
BUILTIN_COUNTS = {"allergy": 115, "condition": 119, "medication": 343}
A, C, M, ING, PRODUCT = "allergy", "condition", "medication", "ingredient", "product"


async def match(db: Db, risk_type: str, chunk: str, service: VocabularyService | None = None):
    """(concept type, concept name, confidence, via_synonym, match_type), or None."""
    async with db.database.transaction() as session:
        found = await (service or vocabulary_service).match(session, risk_type, chunk)
    if found is None:
        return None
    concept = found.concept
    return (concept.type, concept.name, found.confidence, found.via_synonym, found.match_type)


async def load(db: Db, path: Path) -> int:
    async with db.database.transaction() as session:
        return await vocabulary_service.load_rxnconso(session, path)


async def names_of(db: Db, concept_id: uuid.UUID) -> list[tuple[str, bool]]:
    names = await db.all(Name, concept_id=concept_id)
    return sorted(((name.normalized, name.is_synonym) for name in names), key=lambda n: n[0])


class TestSplitText:
    @pytest.mark.parametrize(
        ("text", "pieces"),
        [
            ("peanuts, tree nuts, shellfish", ["peanuts", "tree nuts", "shellfish"]),
            ("penicillin; sulfa", ["penicillin", "sulfa"]),
            ("albuterol/levothyroxine", ["albuterol", "levothyroxine"]),
            (
                "Peniccillin ,Sulfa Drugs;  Latex / egg",
                ["Peniccillin", "Sulfa Drugs", "Latex", "egg"],
            ),
            ("  asthma  ", ["asthma"]),
            ("asthma,, ;/ hypertension,", ["asthma", "hypertension"]),
            ("a - b (c) & d", ["a - b (c) & d"]),
            ("", []),
            (" , ; / ", []),
        ],
    )
    def test_splits_on_comma_semicolon_and_slash_keeping_each_piece_as_typed(
        self, text: str, pieces: list[str]
    ) -> None:
        assert split_text(text) == pieces


class TestNormalize:
    @pytest.mark.parametrize(
        ("text", "normalized"),
        [
            ("Levothyroxine", "levothyroxine"),
            ("  Crohn\u2019s   Disease ", "crohns disease"),
            ("FD&C Red No. 40", "fd c red no 40"),
            ("PÉNICILLINE!", "penicilline"),
            ("co-trimoxazole", "co trimoxazole"),
            ("Type II  diabetes\tmellitus", "type ii diabetes mellitus"),
            ("?!", ""),
        ],
    )
    def test_lower_case_without_accents_or_punctuation(self, text: str, normalized: str) -> None:
        assert normalize(text) == normalized


class TestBuiltinData:
    def test_has_at_least_300_concepts(self) -> None:
        counts = Counter(concept.type for concept in builtin_concepts())
        assert counts == BUILTIN_COUNTS
        assert sum(counts.values()) >= 300

    def test_every_name_and_synonym_belongs_to_one_concept_of_its_type(self) -> None:
        owners: dict[tuple[str, str], set[str]] = defaultdict(set)
        for concept in builtin_concepts():
            for name in concept.names():
                owners[(concept.type, name.normalized)].add(concept.name)
        assert {key: names for key, names in owners.items() if len(names) > 1} == {}
        own_names = Counter((c.type, normalize(c.name)) for c in builtin_concepts())
        assert [key for key, count in own_names.items() if count > 1] == []

    def test_ids_are_uuid5_of_the_namespace_type_and_normalised_name(self) -> None:
        assert uuid.UUID("8cfdd2c9-bedf-487c-b960-c691a8f9bae8") == BUILTIN_NAMESPACE
        assert builtin_concept_id("medication", "Levothyroxine ") == LEVOTHYROXINE_ID
        assert uuid.uuid5(BUILTIN_NAMESPACE, "medication/levothyroxine") == LEVOTHYROXINE_ID
        assert len({concept.id for concept in builtin_concepts()}) == sum(BUILTIN_COUNTS.values())

    def test_medications_are_ingredients_with_numeric_rxcuis(self) -> None:
        medications = [c for c in builtin_concepts() if c.type == "medication"]
        assert {c.tty for c in medications} == {"IN", "MIN"}
        assert all(c.rxcui is None or c.rxcui.isdigit() for c in medications)
        assert sum(c.rxcui is not None for c in medications) == 274
        assert all(c.allergen_class is None for c in medications)

    def test_allergens_have_a_class_and_conditions_none(self) -> None:
        classes = {c.type: set() for c in builtin_concepts()}
        for concept in builtin_concepts():
            classes[concept.type].add(concept.allergen_class)
        assert None not in classes["allergy"]
        assert {"penicillins", "sulfonamides", "food", "excipient", "dye"} <= classes["allergy"]
        assert classes["condition"] == {None}


class TestEnsureBuiltin:
    async def test_is_seeded_by_the_migration_and_adds_nothing_again(self, db: Db) -> None:
        async with db.database.transaction() as session:
            assert await vocabulary_service.ensure_builtin(session) == 0

        counts = {
            risk_type: await db.count(Concept, type=risk_type, source="pestle")
            for risk_type in BUILTIN_COUNTS
        }
        assert counts == BUILTIN_COUNTS
        assert await db.count(Name) == sum(len(c.names()) for c in builtin_concepts())
        levothyroxine = await db.all(Concept, id=LEVOTHYROXINE_ID)
        assert [(c.type, c.name, c.source, c.rxcui, c.tty) for c in levothyroxine] == [
            (M, "levothyroxine", "pestle", "10582", "IN")
        ]
        assert await names_of(db, LEVOTHYROXINE_ID) == sorted(LEVOTHYROXINE_NAMES)

    async def test_medication_concepts_carry_their_detail(self, db: Db) -> None:
        [concept] = await db.all(Concept, id=LEVOTHYROXINE_ID)
        assert {
            "ingredient_name": concept.ingredient_name,
            "ingredient_rxcui": concept.ingredient_rxcui,
            "scdf_name": concept.scdf_name,
            "scdg_name": concept.scdg_name,
            "normalization_key": concept.normalization_key,
            "brand_name": concept.brand_name,
        } == {
            "ingredient_name": "levothyroxine",
            "ingredient_rxcui": "10582",
            "scdf_name": "levothyroxine Oral Tablet",
            "scdg_name": "levothyroxine Oral Product",
            "normalization_key": "IN:10582|generic",
            "brand_name": None,
        }

    async def test_restores_a_deleted_concept_under_the_same_id(self, builtin: Db) -> None:
        async with builtin.database.transaction() as session:
            await session.execute(delete(Concept).where(Concept.id == LEVOTHYROXINE_ID))
        assert await builtin.count(Name, concept_id=LEVOTHYROXINE_ID) == 0

        async with builtin.database.transaction() as session:
            assert await vocabulary_service.ensure_builtin(session) == 1

        assert await builtin.count(Concept, id=LEVOTHYROXINE_ID) == 1
        assert await names_of(builtin, LEVOTHYROXINE_ID) == sorted(LEVOTHYROXINE_NAMES)

    async def test_brings_changed_data_and_names_back_to_the_release(self, builtin: Db) -> None:
        async with builtin.database.transaction() as session:
            await session.execute(
                update(Concept).where(Concept.id == LEVOTHYROXINE_ID).values(rxcui="1")
            )
            await session.execute(
                delete(Name).where(Name.concept_id == LEVOTHYROXINE_ID, Name.normalized == "t4")
            )
            session.add(Name(concept_id=LEVOTHYROXINE_ID, normalized="levo", is_synonym=True))
            session.add(Name(concept_id=LEVOTHYROXINE_ID, normalized="synthroid", is_synonym=True))

        async with builtin.database.transaction() as session:
            assert await vocabulary_service.ensure_builtin(session) == 0

        [concept] = await builtin.all(Concept, id=LEVOTHYROXINE_ID)
        assert concept.rxcui == "10582"
        assert await names_of(builtin, LEVOTHYROXINE_ID) == sorted(LEVOTHYROXINE_NAMES)


class TestMatch:
    @pytest.mark.parametrize(
        ("risk_type", "chunk", "expected"),
        [
            (A, "Penicillin", (A, "Penicillin", 1.0, False, None)),
            (A, "  PÉNICILLIN! ", (A, "Penicillin", 1.0, False, None)),
            (C, "asthma", (C, "Asthma", 1.0, False, None)),
            (C, "Crohns disease", (C, "Crohn's disease", 1.0, False, None)),
            (M, "levothyroxine", (M, "levothyroxine", 1.0, False, ING)),
            (
                M,
                "sulfamethoxazole/trimethoprim",
                (M, "sulfamethoxazole / trimethoprim", 1.0, False, ING),
            ),
        ],
    )
    async def test_an_exact_name_is_certain(self, db: Db, risk_type, chunk, expected) -> None:
        assert await match(db, risk_type, chunk) == expected

    @pytest.mark.parametrize(
        ("risk_type", "chunk", "expected"),
        [
            (M, "Synthroid", (M, "levothyroxine", 1.0, True, ING)),
            (M, "TYLENOL", (M, "acetaminophen", 1.0, True, ING)),
            (M, "Bactrim", (M, "sulfamethoxazole / trimethoprim", 1.0, True, ING)),
            (A, "sulfa", (A, "Sulfonamides", 1.0, True, None)),
            (A, "Red dye #40", (A, "FD&C Red No. 40", 1.0, True, None)),
            (A, "tartrazine", (A, "FD&C Yellow No. 5", 1.0, True, None)),
            (A, "shell fish", (A, "Shellfish", 1.0, True, None)),
            (C, "HTN", (C, "Hypertension", 1.0, True, None)),
            (C, "T2DM", (C, "Type 2 diabetes mellitus", 1.0, True, None)),
        ],
    )
    async def test_an_exact_synonym_is_certain_and_says_so(
        self, db: Db, risk_type, chunk, expected
    ) -> None:
        assert await match(db, risk_type, chunk) == expected

    @pytest.mark.parametrize(
        ("risk_type", "chunk", "expected"),
        [
            (A, "Peniccillin", (A, "Penicillin", 0.95, False, None)),
            (A, "shelfish", (A, "Shellfish", 0.94, False, None)),
            (M, "levothyroxin", (M, "levothyroxine", 0.96, False, ING)),
            (M, "atorvastatine", (M, "atorvastatin", 0.96, False, ING)),
            (M, "Synthroyd", (M, "levothyroxine", 0.89, True, ING)),
            (C, "hypertention", (C, "Hypertension", 0.92, False, None)),
            (C, "asthsma", (C, "Asthma", 0.92, False, None)),
            (C, "epilepsey", (C, "Epilepsy", 0.94, False, None)),
            (C, "diabetes type two", (C, "Type 2 diabetes mellitus", 0.86, True, None)),
        ],
    )
    async def test_a_misspelling_matches_with_less_than_certainty(
        self, db: Db, risk_type, chunk, expected
    ) -> None:
        assert await match(db, risk_type, chunk) == expected

    @pytest.mark.parametrize(
        ("risk_type", "chunk", "expected"),
        [
            (A, "penicillin allergy", (A, "Penicillin", 0.99, False, None)),
            (A, "allergic to sulfa drugs", (A, "Sulfonamides", 0.99, True, None)),
            (M, "metformin 500mg twice daily", (M, "metformin", 0.99, False, ING)),
            (M, "albuterol inhaler PRN", (M, "albuterol", 0.99, False, ING)),
            (C, "chronic migraines", (C, "Migraine", 0.99, True, None)),
        ],
    )
    async def test_doses_and_qualifiers_are_looked_past_but_cost_certainty(
        self, db: Db, risk_type, chunk, expected
    ) -> None:
        assert await match(db, risk_type, chunk) == expected

    @pytest.mark.parametrize(
        ("risk_type", "chunk"),
        [
            (A, "qwerty zzz"),
            (C, "qwerty zzz"),
            (M, "qwerty zzz"),
            (C, "hypertenshun"),  # 83 < the cutoff of 85
            (A, "red dye 41"),  # numbers are never fuzzy
            (C, "type 3 diabetes"),
            (A, "NKDA"),
            (M, " ,.; "),
            (M, ""),
        ],
    )
    async def test_nothing_close_is_no_match(self, db: Db, risk_type: str, chunk: str) -> None:
        assert await match(db, risk_type, chunk) is None

    @pytest.mark.parametrize(
        ("risk_type", "chunk"),
        [
            (M, "asthma"),
            (M, "hypertension"),
            (M, "peanut"),
            (C, "levothyroxine"),
            (C, "latex"),
            (A, "hypertension"),
        ],
    )
    async def test_a_name_of_another_type_is_no_match(
        self, db: Db, risk_type: str, chunk: str
    ) -> None:
        assert await match(db, risk_type, chunk) is None

    @pytest.mark.parametrize(
        ("chunk", "expected"),
        [
            ("amoxicillin", (M, "amoxicillin", 1.0, False, None)),
            ("Augmentin", (M, "amoxicillin / clavulanate", 1.0, True, None)),
            ("amoxicilin", (M, "amoxicillin", 0.95, False, None)),
            ("codeine allergy", (M, "codeine", 0.99, False, None)),
        ],
    )
    async def test_an_allergy_to_a_single_drug_matches_the_drug(
        self, db: Db, chunk: str, expected
    ) -> None:
        assert await match(db, "allergy", chunk) == expected

    async def test_an_allergen_class_wins_over_a_drug_of_the_same_name(self, db: Db) -> None:
        assert await match(db, M, "penicillin") == (M, "penicillin G", 0.95, False, ING)
        assert await match(db, A, "penicillin") == (A, "Penicillin", 1.0, False, None)

    async def test_returns_the_stored_concept(self, db: Db) -> None:
        async with db.database.transaction() as session:
            found = await vocabulary_service.match(session, "medication", "Synthroid")
            assert found is not None
            assert found.concept is await vocabulary_service.get(session, LEVOTHYROXINE_ID)

    async def test_get_of_an_unknown_id_is_none(self, db: Db) -> None:
        async with db.database.transaction() as session:
            assert await vocabulary_service.get(session, uuid.uuid4()) is None

    async def test_matching_writes_nothing(self, db: Db) -> None:
        async with db.writes_nothing():
            for chunk in ("Synthroid", "levothyroxin", "qwerty zzz"):
                await match(db, "medication", chunk)


class TestLoadRxnconso:
    async def test_loads_one_concept_per_rxcui_with_its_synonyms(
        self, rxnorm: Db, rxnconso: Path
    ) -> None:
        assert await load(rxnorm, rxnconso) == RXNCONSO_CONCEPTS

        concepts = sorted(await rxnorm.all(Concept, source="rxnorm"), key=lambda c: int(c.rxcui))
        assert [(c.type, c.rxcui, c.tty, c.name) for c in concepts] == [
            (M, "6809", "IN", "metformin"),
            (M, "83367", "IN", "atorvastatin"),
            (M, "153165", "BN", "Lipitor"),
            (M, "235743", "PIN", "metformin hydrochloride"),
            (M, "617310", "SCD", "atorvastatin 20 MG Oral Tablet"),
            (M, "861007", "SCD", "metformin hydrochloride 500 MG Oral Tablet"),
        ]
        assert [(c.ingredient_name, c.ingredient_rxcui) for c in concepts] == [
            ("metformin", "6809"),
            ("atorvastatin", "83367"),
            (None, None),
            ("metformin hydrochloride", "235743"),
            (None, None),
            (None, None),
        ]
        assert [(c.brand_name, c.product_rxcui, c.clinical_product_rxcui) for c in concepts] == [
            (None, None, None),
            (None, None, None),
            ("Lipitor", None, None),
            (None, None, None),
            (None, "617310", "617310"),
            (None, "861007", "861007"),
        ]
        assert [c.normalization_key for c in concepts] == [
            "IN:6809|generic",
            "IN:83367|generic",
            "BN:153165|brand",
            "PIN:235743|generic",
            "SCD:617310|generic",
            "SCD:861007|generic",
        ]
        [metformin_500] = [c for c in concepts if c.rxcui == "861007"]
        assert await names_of(rxnorm, metformin_500.id) == [
            ("metformin hcl 500 mg oral tablet", True),
            ("metformin hydrochloride 500 mg oral tablet", False),
        ]

    async def test_loading_again_adds_nothing(self, rxnorm: Db, rxnconso: Path) -> None:
        await load(rxnorm, rxnconso)
        before = await rxnorm.row_counts()

        assert await load(rxnorm, rxnconso) == 0

        assert await rxnorm.row_counts() == before

    async def test_loaded_concepts_match_by_name_and_synonym(
        self, rxnorm: Db, rxnconso: Path
    ) -> None:
        await load(rxnorm, rxnconso)

        assert await match(rxnorm, "medication", "Metformin Hydrochloride 500 MG Oral Tablet") == (
            "medication",
            "metformin hydrochloride 500 MG Oral Tablet",
            1.0,
            False,
            "product",
        )
        assert await match(rxnorm, "medication", "metFORMIN HCl 500 MG Oral Tablet") == (
            "medication",
            "metformin hydrochloride 500 MG Oral Tablet",
            1.0,
            True,
            "product",
        )
        assert await match(
            rxnorm,
            "medication",
            "atorvastatin (as atorvastatin calcium trihydrate) 20 MG Oral Tablet",
        ) == ("medication", "atorvastatin 20 MG Oral Tablet", 1.0, True, "product")
        assert await match(rxnorm, "medication", "metformin hcl 500 mg oral tablets") == (
            "medication",
            "metformin hydrochloride 500 MG Oral Tablet",
            0.98,
            True,
            "product",
        )

    async def test_the_built_in_concept_wins_a_tie(self, rxnorm: Db, rxnconso: Path) -> None:
        await load(rxnorm, rxnconso)

        for chunk in ("Lipitor", "atorvastatin"):
            found = await match(rxnorm, "medication", chunk)
            assert found == ("medication", "atorvastatin", 1.0, chunk == "Lipitor", "ingredient")
        async with rxnorm.database.transaction() as session:
            found = await vocabulary_service.match(session, "medication", "metformin")
            assert found is not None
            assert (found.concept.source, found.concept.id) == (
                "pestle",
                builtin_concept_id("medication", "metformin"),
            )

    @pytest.mark.parametrize(
        ("tty", "name", "match_type", "columns"),
        [
            ("MIN", "ezetimibe / simvastatin", ING, {"ingredient_rxcui": "9000001"}),
            (
                "SBD",
                "atorvastatin 20 MG Oral Tablet [Lipitor]",
                PRODUCT,
                {"brand_name": "Lipitor", "product_rxcui": "9000001"},
            ),
            ("SCDF", "atorvastatin Oral Tablet", "scdf", {"scdf_rxcui": "9000001"}),
            ("SCDG", "atorvastatin Oral Product", "scdg", {"scdg_rxcui": "9000001"}),
        ],
    )
    async def test_the_term_type_gives_the_match_type(
        self, rxnorm: Db, tmp_path: Path, tty: str, name: str, match_type: str, columns: dict
    ) -> None:
        path = tmp_path / "RXNCONSO.RRF"
        path.write_text(f"9000001|ENG||||||1|1|9000001||RXNORM|{tty}|9000001|{name}||N|4096|\n")
        assert await load(rxnorm, path) == 1

        [concept] = await rxnorm.all(Concept, rxcui="9000001")
        assert {column: getattr(concept, column) for column in columns} == columns
        assert await match(rxnorm, "medication", name) == (
            "medication",
            name,
            1.0,
            False,
            match_type,
        )
        assert await match(rxnorm, "allergy", name) == ("medication", name, 1.0, False, None)

    async def test_the_matcher_sees_what_is_loaded_and_forgets_what_is_removed(
        self, rxnorm: Db, rxnconso: Path
    ) -> None:
        service = VocabularyService()
        chunk = "metformin hydrochlorid 500 mg oral tablet"
        builtin = ("medication", "metformin", 0.98, True, "ingredient")
        assert await match(rxnorm, "medication", chunk, service) == builtin

        await load(rxnorm, rxnconso)
        assert await match(rxnorm, "medication", chunk, service) == (
            "medication",
            "metformin hydrochloride 500 MG Oral Tablet",
            0.99,
            False,
            "product",
        )

        async with rxnorm.database.transaction() as session:
            await session.execute(delete(Concept).where(Concept.source == "rxnorm"))
        assert await match(rxnorm, "medication", chunk, service) == builtin

    async def test_loads_in_batches(
        self, rxnorm: Db, rxnconso: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service_module, "RXNCONSO_BATCH", 2)

        assert await load(rxnorm, rxnconso) == RXNCONSO_CONCEPTS

        assert await rxnorm.count(Concept, source="rxnorm") == RXNCONSO_CONCEPTS

    async def test_a_bad_line_loads_nothing(
        self, rxnorm: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service_module, "RXNCONSO_BATCH", 2)
        path = tmp_path / "RXNCONSO.RRF"
        path.write_text("\n".join([*RXNCONSO_LINES[:9], "6809|ENG|metformin", ""]))

        with pytest.raises(NotRxnconso, match=r"RRF file: line 10 does not have its 18 fields"):
            await load(rxnorm, path)

        assert await rxnorm.count(Concept, source="rxnorm") == 0
