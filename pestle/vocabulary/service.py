"""The risk-factor vocabulary: the built-in concepts, RxNorm releases, and matching free text."""

import itertools
import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.exceptions import NotFound, Unprocessable
from pestle.kit.ids import new_id
from pestle.vocabulary.repository import (
    BUILTIN_SOURCE,
    NameRow,
    VocabularyRepository,
    VocabularyVersion,
)

RiskFactorType = Literal["allergy", "condition", "medication"]
RISK_FACTOR_TYPES: tuple[RiskFactorType, ...] = get_args(RiskFactorType)

# rapidfuzz scores are 0-100: below this a name is too far from the text to be offered at all.
FUZZY_CUTOFF = 85.0
# A fuzzy match is never as sure as an exact one, however close it comes.
MAX_FUZZY_CONFIDENCE = 0.99
# Built-in concept ids are uuid5(BUILTIN_NAMESPACE, "<type>/<normalised name>"): the same on
# every install, so a mapping or a client that kept one keeps meaning the same concept.
BUILTIN_NAMESPACE = uuid.UUID("8cfdd2c9-bedf-487c-b960-c691a8f9bae8")
RXNORM_SOURCE = "rxnorm"
MAX_NAME_LENGTH = 500
RXNCONSO_BATCH = 1000

# medication concept tty -> ConceptMatch.match_type
_MATCH_TYPES = {
    "IN": "ingredient",
    "PIN": "ingredient",
    "MIN": "ingredient",
    "BN": "ingredient",
    "SCD": "product",
    "SBD": "product",
    "GPCK": "product",
    "BPCK": "product",
    "SCDF": "scdf",
    "SCDG": "scdg",
}
# An allergy may be to a single drug, which the allergen classes do not name.
_SEARCHED: dict[RiskFactorType, tuple[RiskFactorType, ...]] = {
    "allergy": ("allergy", "medication"),
    "condition": ("condition",),
    "medication": ("medication",),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words around the thing itself ("penicillin allergy", "metformin 500 mg twice daily"): when the
# text as typed matches nothing, a second attempt drops them.
_NOISE: dict[RiskFactorType, frozenset[str]] = {
    "allergy": _words(
        "allergy allergies allergic to reaction reactions intolerance intolerant sensitivity "
        "sensitive hx history of mild severe"
    ),
    "condition": _words(
        "hx history of diagnosed with controlled uncontrolled mild moderate severe chronic "
        "recurrent"
    ),
    "medication": _words(
        "mg mcg g ml unit units iu tablet tablets tab tabs capsule capsules cap caps pill pills "
        "daily once twice a day per bid tid qid qd qhs qam qpm prn po as needed every weekly "
        "nightly at bedtime oral by mouth take takes er xr sr dr inhaler inhalers nebulizer "
        "injection injections shot shots pen patch cream ointment gel drops spray solution "
        "suspension syrup iv im sq subq subcutaneous intravenous intramuscular topical"
    ),
}
_NUMBER = re.compile(r"\d+")
# Lone "i", "iv" or "v" are too often something else ("ACE-I", "IV", "penicillin V").
_NUMBER_WORDS = {
    word: str(value)
    for value, words in enumerate(
        ("", "one", "two ii", "three iii", "four", "five", "six", "seven", "eight", "nine")
    )
    for word in words.split()
}
_DOSE = re.compile(r"\d+(?:mg|mcg|g|ml|iu|units?)?")
_DELIMITERS = re.compile(r"[,;/]")
_WORDS = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc`")

# RXNCONSO.RRF, one atom a line:
# RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
_RRF_FIELDS = 18
_RXCUI, _LAT, _SAB, _TTY, _STR, _SUPPRESS = 0, 1, 11, 12, 14, 16
_RXNORM_TTYS = frozenset(
    {"IN", "PIN", "MIN", "BN", "SCD", "SBD", "SCDF", "SCDG", "SY", "TMSY", "PSN"}
)
# The term types that name a concept, best first; SY, TMSY and PSN only add synonyms.
_NAMING_TTYS = ("IN", "PIN", "MIN", "SCD", "SBD", "SCDF", "SCDG", "BN")
_SUPPRESSED = frozenset({"O", "Y", "E"})
_BRAND_IN_NAME = re.compile(r"\[([^\]]+)\]\s*$")


class RxnormFileNotFound(NotFound):
    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: no such file")


class RxnormFileUnreadable(Unprocessable):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


class NotRxnconso(Unprocessable):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is not an RxNorm RXNCONSO.RRF file: {reason}")


@dataclass(frozen=True)
class ConceptMatch:
    concept: models.RiskFactorConcept
    confidence: float
    """In [0, 1]; 1.0 only for an exact match of a normalised name or synonym."""
    via_synonym: bool
    match_type: str | None
    """Medications only: ingredient, product, scdf or scdg, from the concept's term type."""


def split_text(text: str) -> list[str]:
    """The pieces of a free-text list, split on comma, semicolon and slash, each as typed."""
    return [piece.strip() for piece in _DELIMITERS.split(text) if piece.strip()]


def normalize(text: str) -> str:
    """The lookup form of a name: lower case, no accents or punctuation, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_WORDS.findall(plain.casefold()))[:MAX_NAME_LENGTH].rstrip()


def builtin_concept_id(risk_type: str, name: str) -> uuid.UUID:
    return uuid.uuid5(BUILTIN_NAMESPACE, f"{risk_type}/{normalize(name)}")


@dataclass(frozen=True)
class BuiltinConcept:
    """One concept of the vocabulary that ships with Pestle (``data/concepts.json``)."""

    type: RiskFactorType
    name: str
    synonyms: tuple[str, ...] = ()
    rxcui: str | None = None
    tty: str | None = None
    allergen_class: str | None = None
    scdf_name: str | None = None
    scdf_rxcui: str | None = None
    scdg_name: str | None = None
    scdg_rxcui: str | None = None

    @property
    def id(self) -> uuid.UUID:
        return builtin_concept_id(self.type, self.name)

    def columns(self) -> dict[str, Any]:
        """Every column of the concept's row but its id."""
        is_ingredient = self.type == "medication" and self.tty in ("IN", "PIN", "MIN")
        return {
            "type": self.type,
            "name": self.name,
            "source": BUILTIN_SOURCE,
            "rxcui": self.rxcui,
            "tty": self.tty,
            "allergen_class": self.allergen_class,
            "brand_name": None,
            "ingredient_name": self.name if is_ingredient else None,
            "ingredient_rxcui": self.rxcui if is_ingredient else None,
            "product_rxcui": None,
            "clinical_product_rxcui": None,
            "scdf_name": self.scdf_name,
            "scdf_rxcui": self.scdf_rxcui,
            "scdg_name": self.scdg_name,
            "scdg_rxcui": self.scdg_rxcui,
            "normalization_key": _normalization_key(self.tty, self.rxcui),
        }

    def names(self) -> list[NameRow]:
        return _names(self.id, self.name, self.synonyms)


@cache
def builtin_concepts() -> tuple[BuiltinConcept, ...]:
    data = resources.files("pestle.vocabulary").joinpath("data/concepts.json").read_text("utf-8")
    concepts = tuple(
        BuiltinConcept(**{**entry, "synonyms": tuple(entry.get("synonyms", ()))})
        for entry in json.loads(data)["concepts"]
    )
    unknown = {concept.type for concept in concepts} - set(RISK_FACTOR_TYPES)
    if unknown:
        raise ValueError(f"data/concepts.json: unknown concept types {sorted(unknown)}")
    return concepts


def _normalization_key(tty: str | None, rxcui: str | None) -> str | None:
    if tty is None or rxcui is None:
        return None
    return f"{tty}:{rxcui}|{'brand' if tty in ('BN', 'SBD', 'BPCK') else 'generic'}"


def _names(concept_id: uuid.UUID, name: str, synonyms: Iterable[str]) -> list[NameRow]:
    """The concept's own name, then each synonym that normalises to something new."""
    own = normalize(name)
    names = [NameRow(concept_id, own, is_synonym=False)]
    seen = {own}
    for synonym in synonyms:
        text = normalize(synonym)
        if text and text not in seen:
            seen.add(text)
            names.append(NameRow(concept_id, text, is_synonym=True))
    return names


def _numbers(text: str) -> tuple[str, ...]:
    """The numbers ``text`` carries, in digits: "type two diabetes" and "DM2" both carry 2."""
    found = _NUMBER.findall(text)
    found.extend(_NUMBER_WORDS[word] for word in text.split() if word in _NUMBER_WORDS)
    return tuple(sorted(found))


def _core(text: str, risk_type: RiskFactorType) -> str:
    """``text`` without the words that qualify the thing rather than name it."""
    noise = _NOISE[risk_type]
    drop_doses = risk_type == "medication"
    return " ".join(
        word
        for word in text.split()
        if word not in noise and not (drop_doses and _DOSE.fullmatch(word))
    )


@dataclass(frozen=True)
class _Hit:
    score: float
    position: int


class _Names:
    """Names that carry the same numbers, and where each sits in the whole index."""

    def __init__(self) -> None:
        self.spaced: list[str] = []
        self.compact: list[str] = []
        self.positions: list[int] = []


class _NameIndex:
    """The names of one type of concept, held in memory for fuzzy matching."""

    def __init__(self, version: VocabularyVersion, rows: Sequence[NameRow]) -> None:
        self.version = version
        self.concept_ids = [row.concept_id for row in rows]
        self.is_synonym = [row.is_synonym for row in rows]
        self.by_numbers: dict[tuple[str, ...], _Names] = {}
        for position, row in enumerate(rows):
            names = self.by_numbers.setdefault(_numbers(row.normalized), _Names())
            names.spaced.append(row.normalized)
            names.compact.append(row.normalized.replace(" ", ""))
            names.positions.append(position)

    def best(self, query: str) -> _Hit | None:
        """The closest name at or above the cutoff; on a tie, the one listed first.

        Word order does not count (token_sort_ratio), nor do spaces ("shell fish"). Numbers are
        never fuzzy: "type 1" is no misspelling of "type 2", nor "Red 3" of "Red 40".
        """
        names = self.by_numbers.get(_numbers(query))
        if names is None:
            return None
        best: _Hit | None = None
        for choices, text, scorer in (
            (names.spaced, query, fuzz.token_sort_ratio),
            (names.compact, query.replace(" ", ""), fuzz.ratio),
        ):
            found = process.extractOne(text, choices, scorer=scorer, score_cutoff=FUZZY_CUTOFF)
            if found is None:
                continue
            hit = _Hit(found[1], names.positions[found[2]])
            if best is None or (hit.score, -hit.position) > (best.score, -best.position):
                best = hit
        return best


@dataclass(frozen=True)
class _Candidate:
    score: float
    concept: models.RiskFactorConcept
    via_synonym: bool


@dataclass(frozen=True)
class _RxnormConcept:
    rxcui: str
    tty: str
    name: str
    synonyms: tuple[str, ...]

    def columns(self, concept_id: uuid.UUID) -> dict[str, Any]:
        tty, rxcui, name = self.tty, self.rxcui, self.name
        brand = name if tty == "BN" else None
        if tty == "SBD" and (bracketed := _BRAND_IN_NAME.search(name)):
            brand = bracketed.group(1)  # "atorvastatin 20 MG Oral Tablet [Lipitor]"
        return {
            "id": concept_id,
            "type": "medication",
            "name": name,
            "source": RXNORM_SOURCE,
            "rxcui": rxcui,
            "tty": tty,
            "allergen_class": None,
            "brand_name": brand,
            "ingredient_name": name if tty in ("IN", "PIN", "MIN") else None,
            "ingredient_rxcui": rxcui if tty in ("IN", "PIN", "MIN") else None,
            "product_rxcui": rxcui if tty in ("SCD", "SBD") else None,
            "clinical_product_rxcui": rxcui if tty == "SCD" else None,
            "scdf_name": name if tty == "SCDF" else None,
            "scdf_rxcui": rxcui if tty == "SCDF" else None,
            "scdg_name": name if tty == "SCDG" else None,
            "scdg_rxcui": rxcui if tty == "SCDG" else None,
            "normalization_key": _normalization_key(tty, rxcui),
        }


def _rxnconso_atoms(path: Path) -> Iterator[tuple[str, str, str]]:
    """(rxcui, tty, string) of each English, unsuppressed RxNorm atom of a kept term type.

    Reads line by line: a release's RXNCONSO.RRF is about a gigabyte.
    """
    rows = 0
    try:
        with path.open(encoding="utf-8", newline="") as file:
            for number, line in enumerate(file, start=1):
                fields = line.rstrip("\r\n").split("|")
                if fields == [""]:
                    continue
                if len(fields) != _RRF_FIELDS + 1 or fields[-1] or not fields[_RXCUI].isdigit():
                    raise NotRxnconso(path, f"line {number} does not have its 18 fields")
                rows += 1
                text = fields[_STR].strip()
                if (
                    fields[_SAB] == "RXNORM"
                    and fields[_LAT] == "ENG"
                    and fields[_SUPPRESS] not in _SUPPRESSED
                    and fields[_TTY] in _RXNORM_TTYS
                    and 0 < len(text) <= MAX_NAME_LENGTH
                ):
                    yield fields[_RXCUI], fields[_TTY], text
    except FileNotFoundError:
        raise RxnormFileNotFound(path) from None
    except UnicodeDecodeError:
        raise NotRxnconso(path, "it is not UTF-8 text") from None
    except OSError as error:
        raise RxnormFileUnreadable(path, error.strerror or type(error).__name__) from None
    if rows == 0:
        raise NotRxnconso(path, "it is empty")


def _rxnorm_concepts(atoms: Iterable[tuple[str, str, str]]) -> Iterator[_RxnormConcept]:
    """One concept per RXCUI (the release lists each RXCUI's atoms together)."""
    for rxcui, group in itertools.groupby(atoms, key=lambda atom: atom[0]):
        strings = [(tty, text) for _, tty, text in group]
        naming = [(tty, text) for tty, text in strings if tty in _NAMING_TTYS]
        if not naming:
            continue  # only synonyms of a term type Pestle does not keep
        tty, name = min(naming, key=lambda atom: _NAMING_TTYS.index(atom[0]))
        yield _RxnormConcept(rxcui, tty, name, tuple(text for _, text in strings))


class VocabularyService:
    def __init__(self) -> None:
        # (database, concept type) -> the names of that type, rebuilt when the names change.
        self._indexes: dict[tuple[str, str], _NameIndex] = {}

    async def get(
        self, session: AsyncSession, concept_id: uuid.UUID
    ) -> models.RiskFactorConcept | None:
        return await VocabularyRepository(session).get(concept_id)

    async def match(
        self, session: AsyncSession, risk_type: RiskFactorType, chunk: str
    ) -> ConceptMatch | None:
        """The concept that one piece of free text names, or None when nothing is close."""
        text = normalize(chunk)
        if not text:
            return None
        repository = VocabularyRepository(session)
        searched = _SEARCHED[risk_type]
        for concept_type in searched:
            found = await repository.find_exact(concept_type, text)
            if found is not None:
                concept, via_synonym = found
                return self._match(risk_type, concept, 1.0, via_synonym)

        # The words as typed first; only if nothing is close, without doses and qualifiers.
        attempts = dict.fromkeys(query for query in (text, _core(text, risk_type)) if query)
        version = await repository.version()
        for query in attempts:
            best: _Candidate | None = None
            for concept_type in searched:
                candidate = await self._fuzzy(repository, version, concept_type, query)
                if candidate is not None and (best is None or candidate.score > best.score):
                    best = candidate
            if best is not None:
                confidence = min(round(best.score / 100, 2), MAX_FUZZY_CONFIDENCE)
                return self._match(risk_type, best.concept, confidence, best.via_synonym)
        return None

    @staticmethod
    def _match(
        risk_type: RiskFactorType,
        concept: models.RiskFactorConcept,
        confidence: float,
        via_synonym: bool,
    ) -> ConceptMatch:
        match_type = _MATCH_TYPES.get(concept.tty or "") if risk_type == "medication" else None
        return ConceptMatch(concept, confidence, via_synonym, match_type)

    async def _fuzzy(
        self,
        repository: VocabularyRepository,
        version: VocabularyVersion,
        concept_type: str,
        query: str,
    ) -> _Candidate | None:
        key = (repository.database_key(), concept_type)
        for _ in range(2):
            index = self._indexes.get(key)
            if index is None or index.version != version:
                rows = await repository.names_of_type(concept_type)
                index = self._indexes[key] = _NameIndex(version, rows)
            hit = index.best(query)
            if hit is None:
                return None
            concept = await repository.get(index.concept_ids[hit.position])
            if concept is not None:
                return _Candidate(hit.score, concept, index.is_synonym[hit.position])
            # Removed since the index was built: forget the index and look again.
            del self._indexes[key]
        return None

    async def ensure_builtin(self, session: AsyncSession) -> int:
        """Brings the built-in vocabulary in the database up to this release's; safe to repeat.

        Adds the concepts that are missing, updates those whose data changed, and adds or
        removes their names to match. Returns the number of concepts added.
        """
        repository = VocabularyRepository(session)
        wanted = builtin_concepts()
        stored = {row.id: row for row in await repository.concepts_of_source(BUILTIN_SOURCE)}
        added = await repository.add_new_concepts(
            [
                {"id": concept.id, **concept.columns()}
                for concept in wanted
                if concept.id not in stored
            ]
        )
        for concept in wanted:
            row = stored.get(concept.id)
            if row is not None:
                for column, value in concept.columns().items():
                    if getattr(row, column) != value:
                        setattr(row, column, value)
        # Concepts that another process added at the same time get their names from it.
        await self._sync_names(
            repository,
            [concept for concept in wanted if concept.id in stored or concept.id in added],
        )
        return len(added)

    @staticmethod
    async def _sync_names(
        repository: VocabularyRepository, concepts: Sequence[BuiltinConcept]
    ) -> None:
        """Gives each concept exactly the names of its data: adds the missing, drops the rest."""
        wanted = [name for concept in concepts for name in concept.names()]
        wanted_set = set(wanted)
        present: set[NameRow] = set()
        unwanted: list[uuid.UUID] = []
        for stored in await repository.names_of(concept.id for concept in concepts):
            name = NameRow(stored.concept_id, stored.normalized, stored.is_synonym)
            if name in present or name not in wanted_set:
                unwanted.append(stored.id)
            present.add(name)
        await repository.delete_names(unwanted)
        await repository.add_names([name for name in wanted if name not in present])

    async def load_rxnconso(self, session: AsyncSession, path: Path) -> int:
        """Loads the drugs of an RxNorm release's RXNCONSO.RRF; returns the concepts added.

        Each RXCUI becomes one medication concept named by its IN/PIN/MIN/SCD/SBD/SCDF/SCDG/BN
        string, its other strings being synonyms. RXCUIs already loaded are skipped, so loading
        the same file again adds nothing. The file is read synchronously, in the caller's
        transaction: this is for the command line, not for a request.
        """
        repository = VocabularyRepository(session)
        present = await repository.rxcuis_of_source(RXNORM_SOURCE)
        loaded = 0
        batch: list[_RxnormConcept] = []
        for concept in _rxnorm_concepts(_rxnconso_atoms(path)):
            if concept.rxcui in present:
                continue
            present.add(concept.rxcui)
            batch.append(concept)
            if len(batch) == RXNCONSO_BATCH:
                loaded += await self._add_rxnorm(repository, batch)
                batch = []
        return loaded + await self._add_rxnorm(repository, batch)

    @staticmethod
    async def _add_rxnorm(
        repository: VocabularyRepository, concepts: Sequence[_RxnormConcept]
    ) -> int:
        ids = [new_id() for _ in concepts]
        await repository.add_concepts(
            [concept.columns(concept_id) for concept, concept_id in zip(concepts, ids, strict=True)]
        )
        await repository.add_names(
            [
                name
                for concept, concept_id in zip(concepts, ids, strict=True)
                for name in _names(concept_id, concept.name, concept.synonyms)
            ]
        )
        return len(concepts)


vocabulary_service = VocabularyService()
