import httpx

from tests.orders.support import ORDERS, ok, ready_order


async def test_create_and_get(clinic_a: httpx.AsyncClient) -> None:
    ready = await ready_order(clinic_a)
    order = ready.order
    assert order["status_code"] == "N01"
    got = ok(await clinic_a.get(f"{ORDERS}/{order['order_number']}"))
    assert got == order
    listed = ok(await clinic_a.get(ORDERS))
    assert listed == [order]
    print(order)
