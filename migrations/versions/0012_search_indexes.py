"""Search indexes: a normalised search text per patient, order, product, prescriber and
prescription, kept by the database itself so that no code path can leave it stale.

The text is every searchable field, lower-cased, each between `|` separators
(`|willard|donnelly|willard donnelly|...|`): a substring is a trigram match, a whole field is
`|value|`. Dates of birth appear as YYYY-MM-DD and YYYYMMDD, ids in their hyphenated form.

PostgreSQL: pg_trgm, a stored generated column `search_text` computed by an IMMUTABLE
function of the row's columns, `pestle_search_<table>(...)`, and a GIN trigram index on it.
The column is not in the SQLAlchemy models: the database alone writes it.
SQLite: an FTS5 table per source table (trigram tokenizer: substring MATCH), keyed by the
source row's rowid and written by AFTER INSERT/UPDATE/DELETE triggers in the same transaction.
A later migration that rebuilds one of these tables in batch mode drops its triggers and may
renumber rowids: it must recreate them (run this module's `_sqlite_upgrade` parts again).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (kind, columns): 'id' a uuid, 'text' any string, 'date' a date, 'name' first/middle/last
# giving "first last" and "first middle last".
_PERSON = [
    ('id', ('id',)),
    ('text', ('first_name',)),
    ('text', ('middle_name',)),
    ('text', ('last_name',)),
    ('name', ('first_name', 'middle_name', 'last_name')),
    ('text', ('email',)),
    ('text', ('phone',)),
]
SOURCES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    'patient': [
        *_PERSON,
        ('date', ('date_of_birth',)),
        ('text', ('external_id',)),
    ],
    'order': [
        ('id', ('id',)),
        ('text', ('order_number',)),
        ('text', ('external_id',)),
    ],
    'product': [
        ('id', ('id',)),
        ('text', ('sku',)),
        ('text', ('name',)),
        ('text', ('product_code',)),
    ],
    'prescriber': [
        *_PERSON,
        ('text', ('npi',)),
        ('text', ('dea',)),
        ('text', ('spi',)),
    ],
    'prescription': [
        ('id', ('id',)),
        ('text', ('drug_name',)),
        ('text', ('name',)),
        ('text', ('product_code',)),
        ('text', ('serial_number',)),
    ],
}
_PG_TYPES = {'id': 'uuid', 'date': 'date'}


def _columns(table: str) -> list[tuple[str, str]]:
    """Each column the text reads, once, with its kind."""
    seen: dict[str, str] = {}
    for kind, columns in SOURCES[table]:
        for column in columns:
            seen.setdefault(column, kind)
    return list(seen.items())


def _parts(table: str, ref: str, *, sqlite: bool) -> list[str]:
    def text(column: str) -> str:
        return f"lower(coalesce({ref}{column}, ''))"

    parts: list[str] = []
    for kind, columns in SOURCES[table]:
        column = columns[0]
        if kind == 'text':
            parts.append(text(column))
        elif kind == 'id' and sqlite:
            hexed = f'lower({ref}{column})'
            pieces = [f'substr({hexed}, {start}, {length})' for start, length in
                      ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
            parts.append(" || '-' || ".join(pieces))
        elif kind == 'id':
            parts.append(f'{ref}{column}::text')
        elif kind == 'date' and sqlite:
            parts.append(f"coalesce({ref}{column} || '|' || replace({ref}{column}, '-', ''), '')")
        elif kind == 'date':
            iso, digits = (f"to_char({ref}{column}, '{form}')" for form in ('YYYY-MM-DD', 'YYYYMMDD'))
            parts.append(f"coalesce({iso} || '|' || {digits}, '')")
        else:
            first, middle, last = (f'{ref}{name}' for name in columns)
            parts.append(f"lower({first} || ' ' || {last})")
            parts.append(f"lower({first} || ' ' || coalesce({middle} || ' ', '') || {last})")
    return parts


def text_expression(table: str, ref: str, *, sqlite: bool) -> str:
    return "'|' || " + " || '|' || ".join(_parts(table, ref, sqlite=sqlite)) + " || '|'"


def _postgresql_upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for table in SOURCES:
        columns = _columns(table)
        parameters = ', '.join(
            f'{column} {_PG_TYPES.get(kind, "text")}' for column, kind in columns
        )
        # IMMUTABLE although to_char is only STABLE: the patterns used name no locale or zone.
        op.execute(
            f'CREATE FUNCTION pestle_search_{table}({parameters}) RETURNS text '
            f'LANGUAGE sql IMMUTABLE PARALLEL SAFE '
            f'AS $$ SELECT {text_expression(table, "", sqlite=False)} $$'
        )
        arguments = ', '.join(column for column, _ in columns)
        # Stored, so that rechecking a trigram candidate or ranking it reads the text rather
        # than building it again (three times per row for a common last name).
        op.execute(
            f'ALTER TABLE "{table}" ADD COLUMN search_text text '
            f'GENERATED ALWAYS AS (pestle_search_{table}({arguments})) STORED'
        )
        op.execute(
            f'CREATE INDEX ix_{table}_search ON "{table}" USING gin (search_text gin_trgm_ops)'
        )


def _postgresql_downgrade() -> None:
    for table in SOURCES:
        op.execute(f'DROP INDEX ix_{table}_search')
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN search_text')
        op.execute(f'DROP FUNCTION pestle_search_{table}')


def _sqlite_upgrade() -> None:
    for table in SOURCES:
        index = f'search_{table}'
        body = text_expression(table, 'new.', sqlite=True)
        op.execute(f"CREATE VIRTUAL TABLE {index} USING fts5(body, tokenize='trigram')")
        existing = text_expression(table, '', sqlite=True)
        op.execute(f'INSERT INTO {index}(rowid, body) SELECT rowid, {existing} FROM "{table}"')
        op.execute(
            f'CREATE TRIGGER {index}_insert AFTER INSERT ON "{table}" BEGIN '
            f'INSERT INTO {index}(rowid, body) VALUES (new.rowid, {body}); END'
        )
        op.execute(
            f'CREATE TRIGGER {index}_update AFTER UPDATE ON "{table}" BEGIN '
            f'DELETE FROM {index} WHERE rowid = old.rowid; '
            f'INSERT INTO {index}(rowid, body) VALUES (new.rowid, {body}); END'
        )
        op.execute(
            f'CREATE TRIGGER {index}_delete AFTER DELETE ON "{table}" BEGIN '
            f'DELETE FROM {index} WHERE rowid = old.rowid; END'
        )


def _sqlite_downgrade() -> None:
    for table in SOURCES:
        for event in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER search_{table}_{event}')
        op.execute(f'DROP TABLE search_{table}')


# B-trees beside the text, the same on both engines (`ix_*_search`: left out of the
# models). A whole phone number is looked up by phone (by staff too, who search every
# customer); a customer's whole name, email or external id by (customer_id, lower(field), id),
# in id order, so that the oldest exact matches of a common name are read first and no more
# of them than the limit.
BTREES = {
    'phone': 'phone',
    'first_name': 'customer_id, lower(first_name), id',
    'middle_name': 'customer_id, lower(middle_name), id',
    'last_name': 'customer_id, lower(last_name), id',
    'full_name': "customer_id, lower(first_name || ' ' || last_name), id",
    'whole_name': (
        "customer_id, lower(first_name || ' ' || coalesce(middle_name || ' ', '') || last_name), id"
    ),
    'email': 'customer_id, lower(email), id',
    'external_id': 'customer_id, lower(external_id), id',
}


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_upgrade()
    else:
        _postgresql_upgrade()
    for name, columns in BTREES.items():
        op.execute(f'CREATE INDEX ix_patient_{name}_search ON patient ({columns})')


def downgrade() -> None:
    for name in BTREES:
        op.execute(f'DROP INDEX ix_patient_{name}_search')
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_downgrade()
    else:
        _postgresql_downgrade()
