"""Search on PostgreSQL: ids, dates, phone numbers and NPIs leave `search_text` for a column
of their own, `search_codes`, under its own GIN trigram index.

Those fields are hex digits and dashes only, and they were most of the trigram index: at
1,000,000 patients it held 215 MB, of which the names, emails and external ids need 62 MB.
Every needle with a digit in it read their long posting lists (a uuid alone is 36 of a
patient's 150 characters), and a nine-character email substring took 4 ms in the index.
Now a needle with any other character (a letter after f, a dot, an at sign...) cannot be in a
code and reads only the words' index (1.3 ms for the same substring); a needle of hex digits
and dashes reads both indexes.

SQLite is unchanged: its FTS5 tables keep the whole text, as migration 0012 wrote it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMES = (
    "first_name || ' ' || last_name",
    "first_name || ' ' || coalesce(middle_name || ' ', '') || last_name",
)
# Each table's words (lower-cased text) and codes (only ever hex digits and dashes), as the
# SQL of stored generated columns: every function used is immutable but to_char, which
# `pestle_search_date` wraps (its patterns name no locale or zone).
WORDS: dict[str, tuple[str, ...]] = {
    'patient': ('first_name', 'middle_name', 'last_name', *_NAMES, 'email', 'external_id'),
    'order': ('order_number', 'external_id'),
    'product': ('sku', 'name', 'product_code'),
    'prescriber': ('first_name', 'middle_name', 'last_name', *_NAMES, 'email', 'dea', 'spi'),
    'prescription': ('drug_name', 'name', 'product_code', 'serial_number'),
}
CODES: dict[str, tuple[str, ...]] = {
    'patient': ('id::text', 'phone', 'pestle_search_date(date_of_birth)'),
    'order': ('id::text',),
    'product': ('id::text',),
    'prescriber': ('id::text', 'phone', 'npi'),
    'prescription': ('id::text',),
}


def _text(parts: list[str]) -> str:
    """`|part|part|...|`, a missing part as empty."""
    return "'|' || " + " || '|' || ".join(f"coalesce({part}, '')" for part in parts) + " || '|'"


def _revision_0012() -> ModuleType:
    """Migration 0012's module, whose PostgreSQL upgrade the downgrade runs again."""
    path = next(Path(__file__).parent.glob('0012_*.py'))
    spec = importlib.util.spec_from_file_location('pestle_revision_0012', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return
    op.execute(
        'CREATE FUNCTION pestle_search_date(value date) RETURNS text '
        'LANGUAGE sql IMMUTABLE PARALLEL SAFE '
        "AS $$ SELECT to_char(value, 'YYYY-MM-DD') || '|' || to_char(value, 'YYYYMMDD') $$"
    )
    for table in WORDS:
        op.execute(f'DROP INDEX ix_{table}_search')
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN search_text')
        op.execute(f'DROP FUNCTION pestle_search_{table}')
        words = _text([f'lower({word})' for word in WORDS[table]])
        codes = _text(list(CODES[table]))
        # One ALTER: the table is rewritten once for both columns.
        op.execute(
            f'ALTER TABLE "{table}" '
            f'ADD COLUMN search_text text GENERATED ALWAYS AS ({words}) STORED, '
            f'ADD COLUMN search_codes text GENERATED ALWAYS AS ({codes}) STORED'
        )
        op.execute(
            f'CREATE INDEX ix_{table}_search ON "{table}" USING gin (search_text gin_trgm_ops)'
        )
        op.execute(
            f'CREATE INDEX ix_{table}_codes_search ON "{table}" '
            f'USING gin (search_codes gin_trgm_ops)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table in WORDS:
        op.execute(f'DROP INDEX ix_{table}_codes_search')
        op.execute(f'DROP INDEX ix_{table}_search')
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN search_codes, DROP COLUMN search_text')
    op.execute('DROP FUNCTION pestle_search_date')
    _revision_0012()._postgresql_upgrade()
