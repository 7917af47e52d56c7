"""The demo tenant that `make run` seeds: one customer, its admin and a pharmacist."""

import secrets
from dataclasses import dataclass

from pestle import models
from pestle.db import Database
from pestle.users.service import user_service

DEMO_CUSTOMER = "Demo Telehealth"
DEMO_USERS = (
    ("admin@demo.pestle.dev", models.Role.ADMIN, "Demo", "Admin"),
    ("pharmacist@demo.pestle.dev", models.Role.PHARMACIST, "Demo", "Pharmacist"),
)


@dataclass(frozen=True)
class DemoSeed:
    created: list[str]
    password: str | None
    """The password of the users created now; None when every user already existed."""


async def seed(database: Database, password: str | None) -> DemoSeed:
    """Create whatever of the demo data is missing; an explicit password is (re)applied to all."""
    new_password = password or secrets.token_urlsafe(18)
    created = []
    async with database.transaction() as session:
        for email, role, first_name, last_name in DEMO_USERS:
            existing = await user_service.find_by_email(session, email)
            if existing is None:
                await user_service.create(
                    session,
                    email=email,
                    password=new_password,
                    role=role,
                    customer_name=None if role.is_staff else DEMO_CUSTOMER,
                    first_name=first_name,
                    last_name=last_name,
                )
                created.append(email)
            elif password is not None:
                await user_service.set_password(session, existing, password)
    return DemoSeed(created=created, password=new_password if created else None)
