"""Helpers for tests of the shared mechanics: serving any app, and proving nothing was written."""

import re
import uuid

from pestle import models
from tests.conftest import Db

# What the server generates when the client sent no usable X-Request-ID.
GENERATED_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


async def customer_id(db: Db, name: str) -> uuid.UUID:
    [customer] = await db.all(models.Customer, name=name)
    found: uuid.UUID = customer.id
    return found
