async def test_verify(clinic_a):
    r = await clinic_a.get("/api/v1/auth/verify")
    assert r.status_code == 200
    assert r.json()["user"]["email"] == "admin@clinic-a.pestle.dev"
