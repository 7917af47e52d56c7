from pestle import models
from pestle.kit.repository import TenantRepository


class OutboxRepository(TenantRepository[models.OutboxEvent]):
    model = models.OutboxEvent
