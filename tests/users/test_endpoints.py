"""Users are visible only inside their customer; pharmacy staff see everyone."""

from pestle import models


class TestTenantIsolation:
    async def test_a_customer_lists_only_its_own_users(self, clinic_a, clinic_b, db):
        await db.create_user("member@clinic-a.pestle.dev", "member", "Clinic A")
        listed = await clinic_a.get("/api/v1/users")
        assert listed.status_code == 200
        assert [user["email"] for user in listed.json()] == [
            "admin@clinic-a.pestle.dev",
            "member@clinic-a.pestle.dev",
        ]
        assert listed.headers["X-Total-Count"] == "2"
        assert [user["email"] for user in (await clinic_b.get("/api/v1/users")).json()] == [
            "admin@clinic-b.pestle.dev"
        ]

    async def test_another_customers_user_is_404(self, clinic_a, clinic_b, db):
        (user_a,) = await db.all(models.User, email="admin@clinic-a.pestle.dev")
        response = await clinic_b.get(f"/api/v1/users/{user_a.id}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"No user '{user_a.id}'.", "error": "UserNotFound"}
        own = await clinic_a.get(f"/api/v1/users/{user_a.id}")
        assert own.status_code == 200
        assert own.json()["email"] == "admin@clinic-a.pestle.dev"

    async def test_an_id_that_is_not_a_uuid_is_404(self, clinic_a):
        response = await clinic_a.get("/api/v1/users/not-a-uuid")
        assert response.status_code == 404
        assert response.json() == {"detail": "No user 'not-a-uuid'.", "error": "UserNotFound"}

    async def test_staff_see_every_customer(self, clinic_a, clinic_b, pharmacist):
        listed = await pharmacist.get("/api/v1/users")
        assert sorted(user["email"] for user in listed.json()) == [
            "admin@clinic-a.pestle.dev",
            "admin@clinic-b.pestle.dev",
            "rph@pharmacy.pestle.dev",
        ]
        staff = [user for user in listed.json() if user["role"] == "pharmacist"]
        assert staff[0]["customer_id"] is None
