from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.kit.repository import TenantRepository


class ApiKeyRepository(TenantRepository[models.ApiKey]):
    model = models.ApiKey

    async def get_active_by_hash(self, secret_hash: str) -> models.ApiKey | None:
        return await self.one_or_none(
            self.select().where(
                models.ApiKey.secret_hash == secret_hash, models.ApiKey.revoked_at.is_(None)
            )
        )

    async def listed(self) -> list[models.ApiKey]:
        return list(await self.session.scalars(self.select().order_by(models.ApiKey.id)))


class LoginFailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def since(self, email_digest: str, cutoff: datetime) -> tuple[int, datetime | None]:
        """How many failures since ``cutoff``, and when the oldest of them happened."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(models.LoginFailure.failed_at)).where(
                    models.LoginFailure.email_digest == email_digest,
                    models.LoginFailure.failed_at >= cutoff,
                )
            )
        ).one()
        return row[0], row[1]

    async def record(self, email_digest: str, at: datetime, forget_before: datetime) -> None:
        await self.session.execute(
            delete(models.LoginFailure).where(
                models.LoginFailure.email_digest == email_digest,
                models.LoginFailure.failed_at < forget_before,
            )
        )
        self.session.add(models.LoginFailure(email_digest=email_digest, failed_at=at))
        await self.session.flush()
