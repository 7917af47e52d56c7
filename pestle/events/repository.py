from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from pestle import models
from pestle.kit.repository import TenantRepository

# The channel `pestle worker` LISTENs on for new outbox events.
OUTBOX_CHANNEL = "pestle_outbox"


class OutboxRepository(TenantRepository[models.OutboxEvent]):
    model = models.OutboxEvent

    async def next_sequence(self, resource_key: str) -> int:
        """The resource's next event number. The upsert holds the resource's row until the
        transaction ends, so a concurrent event of the same resource waits and numbers after."""
        table = models.ResourceSequence
        dialect = sqlite if self.session.get_bind().dialect.name == "sqlite" else postgresql
        statement = dialect.insert(table).values(resource_key=resource_key, last_sequence=1)
        statement = statement.on_conflict_do_update(
            index_elements=[table.resource_key], set_={"last_sequence": table.last_sequence + 1}
        ).returning(table.last_sequence)
        sequence: int = (await self.session.execute(statement)).scalar_one()
        return sequence

    async def wake_workers(self) -> None:
        """PostgreSQL: `NOTIFY` the workers' channel, sent by the server only if and when
        this transaction commits (notifications of one transaction are folded into one)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
