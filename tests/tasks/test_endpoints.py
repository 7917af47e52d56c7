"""The Tasks endpoints over HTTP on both engines: every answer and refusal, exact bodies,
tenant isolation, completed_at and the task events in the outbox."""

import re
import uuid
from typing import Any

import httpx

from pestle import models
from tests.conftest import Db
from tests.orders.support import make_patient, ok, ready_order
from tests.tasks.support import (
    CLINIC_A,
    CLINIC_B,
    PHARMACIST,
    TASKS,
    UNKNOWN,
    create_task,
    expected_body,
    expected_event,
    refused,
    stored,
    summary,
    task_events,
    user,
)

REST_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def not_found(task_id: str) -> dict[str, str]:
    return {"error": "TaskNotFound", "detail": f"No task {task_id!r}."}


def not_involvable(field: str, user_id: object) -> dict[str, str]:
    return {
        "error": "UserNotInvolvable",
        "detail": f"{field}: no active user {user_id} of this task's customer or the pharmacy.",
    }


def unknown_code(field: str, value: str, choices: str) -> dict[str, str]:
    return {
        "error": "UnknownTaskCode",
        "detail": f"{field}: unknown code {value!r}; known codes: {choices}.",
    }


CATEGORY_CHOICES = (
    "T01 (Order), T02 (Patient), T03 (Prescription), T04 (Inventory), T05 (Shipping), T06 (General)"
)
STATUS_CHOICES = (
    "NEW (New), IN_PROGRESS (In Progress), COMPLETED (Completed), CANCELLED (Cancelled)"
)


class TestCodeLists:
    async def test_categories(self, clinic_a: httpx.AsyncClient) -> None:
        assert ok(await clinic_a.get(f"{TASKS}/categories")) == [
            {"code": "T01", "name": "Order"},
            {"code": "T02", "name": "Patient"},
            {"code": "T03", "name": "Prescription"},
            {"code": "T04", "name": "Inventory"},
            {"code": "T05", "name": "Shipping"},
            {"code": "T06", "name": "General"},
        ]

    async def test_statuses(self, pharmacist: httpx.AsyncClient) -> None:
        assert ok(await pharmacist.get(f"{TASKS}/statuses")) == [
            {"code": "NEW", "name": "New"},
            {"code": "IN_PROGRESS", "name": "In Progress"},
            {"code": "COMPLETED", "name": "Completed"},
            {"code": "CANCELLED", "name": "Cancelled"},
        ]

    async def test_every_endpoint_needs_a_token(self, anon: httpx.AsyncClient) -> None:
        for method, path in (
            ("GET", f"{TASKS}/categories"),
            ("GET", f"{TASKS}/statuses"),
            ("GET", TASKS),
            ("POST", TASKS),
            ("GET", f"{TASKS}/{UNKNOWN}"),
            ("PUT", f"{TASKS}/{UNKNOWN}"),
        ):
            response = await anon.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert response.json() == {
                "error": "MissingCredentials",
                "detail": "Send 'Authorization: Bearer <token>'.",
            }


class TestCreate:
    async def test_the_contract_example(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        ready = await ready_order(clinic_a)
        me = await summary(db, CLINIC_A)
        rph = await summary(db, PHARMACIST)
        body = {
            "assignee": me["id"],
            "name": "Confirm shelf-stability of recent batch",
            "description": "Please find the most recent batch and confirm shelf-stability.",
            "category_code": "T06",
            "status_code": "NEW",
            "order_id": ready.order["id"],
            "patient_id": ready.patient["id"],
            "prescription_id": ready.erx["prescriptions"][0]["id"],
            "watchers": [{"id": rph["id"]}],
        }
        response = await clinic_a.post(TASKS, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert REST_INSTANT.fullmatch(created["created_at"])
        assert created == {
            "id": created["id"],
            "name": "Confirm shelf-stability of recent batch",
            "description": "Please find the most recent batch and confirm shelf-stability.",
            "category_code": "T06",
            "category_name": "General",
            "status_code": "NEW",
            "status_name": "New",
            "assignee_id": me["id"],
            "assignee": me,
            "watchers": [rph],
            "order_id": ready.order["id"],
            "patient_id": ready.patient["id"],
            "prescription_id": ready.erx["prescriptions"][0]["id"],
            "created_by_id": me["id"],
            "created_at": created["created_at"],
            "completed_at": None,
        }
        assert created == await expected_body(db, created["id"], me, [rph])
        row = await stored(db, created["id"])
        assert (row.customer_id, row.source_key) == ((await user(db, CLINIC_A)).customer_id, None)
        assert await task_events(db) == [
            ("task.created", row.customer_id, await expected_event(db, created["id"]))
        ]

    async def test_defaults_and_trimmed_codes(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        created = await create_task(clinic_a, name="  Call back  ", category_code=" t02 ")
        me = await user(db, CLINIC_A)
        assert created == {
            "id": created["id"],
            "name": "Call back",
            "description": None,
            "category_code": "T02",
            "category_name": "Patient",
            "status_code": "NEW",
            "status_name": "New",
            "assignee_id": None,
            "assignee": None,
            "watchers": [],
            "order_id": None,
            "patient_id": None,
            "prescription_id": None,
            "created_by_id": str(me.id),
            "created_at": created["created_at"],
            "completed_at": None,
        }

    async def test_created_completed(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        created = await create_task(clinic_a, status_code="COMPLETED")
        assert created["status_name"] == "Completed"
        assert created["completed_at"] == created["created_at"]
        data = await expected_event(db, created["id"])
        customer = (await user(db, CLINIC_A)).customer_id
        assert await task_events(db) == [
            ("task.created", customer, data),
            ("task.completed", customer, data),
        ]

    async def test_watchers_count_once(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        me = await summary(db, CLINIC_A)
        created = await create_task(clinic_a, watchers=[{"id": me["id"]}, {"id": me["id"]}])
        assert created["watchers"] == [me]
        assert await db.count(models.TaskWatcher) == 1

    async def test_unknown_codes(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        await refused(
            db,
            clinic_a.post(TASKS, json={"name": "x", "category_code": "T99"}),
            422,
            unknown_code("category_code", "T99", CATEGORY_CHOICES),
        )
        await refused(
            db,
            clinic_a.post(TASKS, json={"name": "x", "category_code": "T01", "status_code": "DONE"}),
            422,
            unknown_code("status_code", "DONE", STATUS_CHOICES),
        )

    async def test_bad_bodies(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(TASKS, json={"category_code": "T01"})
            assert response.status_code == 422
            [error] = response.json()["detail"]
            assert (error["loc"], error["type"]) == (["body", "name"], "missing")

            response = await clinic_a.post(TASKS, json={"name": "x"})
            [error] = response.json()["detail"]
            assert (error["loc"], error["type"]) == (["body", "category_code"], "missing")

            response = await clinic_a.post(
                TASKS, json={"name": "x", "category_code": "T01", "assignee": "nobody"}
            )
            [error] = response.json()["detail"]
            assert (error["loc"], error["type"]) == (["body", "assignee"], "uuid_parsing")

            response = await clinic_a.post(
                TASKS, json={"name": "x", "category_code": "T01", "assignee_id": UNKNOWN}
            )
            [error] = response.json()["detail"]
            assert (error["loc"], error["type"]) == (["body", "assignee_id"], "extra_forbidden")

            response = await clinic_a.post(
                TASKS, json={"name": "x", "category_code": "T01", "watchers": [UNKNOWN]}
            )
            [error] = response.json()["detail"]
            assert (error["loc"], error["type"]) == (
                ["body", "watchers", 0],
                "model_attributes_type",
            )

            response = await clinic_a.post(
                TASKS, content=b"{not json", headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 400
            assert response.json()["error"] == "MalformedBody"

    async def test_unknown_and_foreign_links(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        ready = await ready_order(clinic_a)
        prescription_id = ready.erx["prescriptions"][0]["id"]
        for field, kind, value in (
            ("order_id", "order", UNKNOWN),
            ("order_id", "order", ready.order["id"]),
            ("patient_id", "patient", ready.patient["id"]),
            ("prescription_id", "prescription", prescription_id),
        ):
            await refused(
                db,
                clinic_b.post(TASKS, json={"name": "x", "category_code": "T01", field: value}),
                404,
                {"error": "LinkedRowNotFound", "detail": f"{field}: no {kind} {value}."},
            )

    async def test_users_of_another_customer(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        other = await user(db, CLINIC_B)
        await refused(
            db,
            clinic_a.post(
                TASKS, json={"name": "x", "category_code": "T01", "assignee": str(other.id)}
            ),
            404,
            not_involvable("assignee", other.id),
        )
        await refused(
            db,
            clinic_a.post(
                TASKS, json={"name": "x", "category_code": "T01", "watchers": [{"id": UNKNOWN}]}
            ),
            404,
            not_involvable("watchers", UNKNOWN),
        )

    async def test_inactive_users(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        colleague = await db.create_user("member@clinic-a.pestle.dev", "member", "Clinic A")
        await db.deactivate("member@clinic-a.pestle.dev")
        body = {"name": "x", "category_code": "T01", "watchers": [{"id": str(colleague.id)}]}
        await refused(
            db, clinic_a.post(TASKS, json=body), 404, not_involvable("watchers", colleague.id)
        )

    async def test_colleagues_and_staff_may_be_involved(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        await db.create_user("member@clinic-a.pestle.dev", "member", "Clinic A")
        colleague = await summary(db, "member@clinic-a.pestle.dev")
        rph = await summary(db, PHARMACIST)
        created = await create_task(
            clinic_a, assignee=rph["id"], watchers=[{"id": colleague["id"]}, {"id": rph["id"]}]
        )
        assert (created["assignee"], created["watchers"]) == (rph, [rph, colleague])


class TestStaffCreate:
    async def test_a_linked_task_belongs_to_the_rows_customer(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        patient = await make_patient(clinic_a)
        me = await summary(db, CLINIC_A)
        created = await create_task(pharmacist, patient_id=patient["id"], assignee=me["id"])
        rph = await user(db, PHARMACIST)
        assert (created["created_by_id"], created["assignee"]) == (str(rph.id), me)
        customer = (await user(db, CLINIC_A)).customer_id
        assert (await stored(db, created["id"])).customer_id == customer
        assert ok(await clinic_a.get(f"{TASKS}/{created['id']}")) == created
        assert (await clinic_b.get(f"{TASKS}/{created['id']}")).status_code == 404
        [(code, owner, _)] = await task_events(db)
        assert (code, owner) == ("task.created", customer)

    async def test_links_of_two_customers(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        ready = await ready_order(clinic_a)
        theirs = await make_patient(clinic_b)
        body = {
            "name": "x",
            "category_code": "T01",
            "order_id": ready.order["id"],
            "patient_id": theirs["id"],
        }
        await refused(
            db,
            pharmacist.post(TASKS, json=body),
            422,
            {
                "error": "LinksOfSeveralCustomers",
                "detail": "order_id, patient_id and prescription_id must belong to the same "
                "customer.",
            },
        )

    async def test_an_unlinked_task_is_the_pharmacys_own(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_task(pharmacist, category_code="T04")
        assert (await stored(db, created["id"])).customer_id is None
        assert await task_events(db) == []  # no customer to tell
        response = await clinic_a.get(f"{TASKS}/{created['id']}")
        assert (response.status_code, response.json()) == (404, not_found(created["id"]))
        assert ok(await clinic_a.get(TASKS)) == []
        customer_user = await user(db, CLINIC_A)
        body = {"name": "x", "category_code": "T04", "assignee": str(customer_user.id)}
        await refused(
            db, pharmacist.post(TASKS, json=body), 404, not_involvable("assignee", customer_user.id)
        )


class TestGet:
    async def test_own_and_foreign(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        created = await create_task(clinic_a)
        assert ok(await clinic_a.get(f"{TASKS}/{created['id']}")) == created
        assert ok(await pharmacist.get(f"{TASKS}/{created['id']}")) == created
        for client, task_id in (
            (clinic_b, created["id"]),
            (clinic_a, UNKNOWN),
            (clinic_a, "not-a-uuid"),
        ):
            response = await client.get(f"{TASKS}/{task_id}")
            assert (response.status_code, response.json()) == (404, not_found(task_id))


class TestList:
    async def test_filters(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        ready = await ready_order(clinic_a)
        me = await summary(db, CLINIC_A)
        prescription_id = ready.erx["prescriptions"][0]["id"]
        plain = await create_task(clinic_a)
        mine = await create_task(clinic_a, assignee=me["id"], status_code="IN_PROGRESS")
        linked = await create_task(
            clinic_a,
            category_code="T01",
            order_id=ready.order["id"],
            patient_id=ready.patient["id"],
            prescription_id=prescription_id,
        )

        async def ids(**params: Any) -> list[str]:
            return [task["id"] for task in ok(await clinic_a.get(TASKS, params=params))]

        assert await ids() == [plain["id"], mine["id"], linked["id"]]
        assert await ids(assignee_id=me["id"]) == [mine["id"]]
        assert await ids(status_code="in_progress") == [mine["id"]]
        assert await ids(status_code="NEW") == [plain["id"], linked["id"]]
        assert await ids(category_code="T01") == [linked["id"]]
        assert await ids(order_id=ready.order["id"]) == [linked["id"]]
        assert await ids(patient_id=ready.patient["id"]) == [linked["id"]]
        assert await ids(prescription_id=prescription_id) == [linked["id"]]
        assert await ids(category_code="T06", status_code="NEW") == [plain["id"]]
        assert await ids(assignee_id=UNKNOWN) == []
        listed = ok(await clinic_a.get(TASKS, params={"assignee_id": me["id"]}))
        assert listed == [await expected_body(db, mine["id"], me)]

    async def test_pagination(self, clinic_a: httpx.AsyncClient) -> None:
        made = [(await create_task(clinic_a, name=f"Task {n}"))["id"] for n in range(5)]
        response = await clinic_a.get(TASKS, params={"page": 2, "page_size": 2})
        assert [task["id"] for task in ok(response)] == made[2:4]
        assert response.headers["X-Total-Count"] == "5"
        base = str(response.url).split("?")[0]
        assert response.headers["Link"] == (
            f'<{base}?page=1&page_size=2>; rel="prev", <{base}?page=3&page_size=2>; rel="next"'
        )
        response = await clinic_a.get(TASKS, params={"page": 3, "page_size": 2})
        assert [task["id"] for task in ok(response)] == made[4:]
        assert response.headers["Link"] == f'<{base}?page=2&page_size=2>; rel="prev"'

    async def test_tenants(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
    ) -> None:
        theirs = await create_task(clinic_a)
        ours = await create_task(clinic_b)
        own = await create_task(pharmacist)
        assert ok(await clinic_a.get(TASKS)) == [theirs]
        assert ok(await clinic_b.get(TASKS)) == [ours]
        assert ok(await pharmacist.get(TASKS)) == [theirs, ours, own]

    async def test_bad_filters(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(TASKS, params={"status_code": "DONE"})
        assert (response.status_code, response.json()) == (
            422,
            unknown_code("status_code", "DONE", STATUS_CHOICES),
        )
        response = await clinic_a.get(TASKS, params={"category_code": "X"})
        assert response.json()["error"] == "UnknownTaskCode"
        response = await clinic_a.get(TASKS, params={"order_id": "ORD1"})
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert (error["loc"], error["type"]) == (["query", "order_id"], "uuid_parsing")
        response = await clinic_a.get(TASKS, params={"page_size": 501})
        [error] = response.json()["detail"]
        assert (error["loc"], error["type"]) == (["query", "page_size"], "less_than_equal")


class TestUpdate:
    async def test_fields(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        me = await summary(db, CLINIC_A)
        patient = await make_patient(clinic_a)
        created = await create_task(clinic_a, assignee=me["id"], description="first")
        response = await clinic_a.put(
            f"{TASKS}/{created['id']}",
            json={
                "name": "Renamed",
                "description": None,
                "category_code": "t02",
                "status_code": "in_progress",
                "patient_id": patient["id"],
                "watchers": [{"id": me["id"]}],
            },
        )
        updated = ok(response)
        assert updated == created | {
            "name": "Renamed",
            "description": None,
            "category_code": "T02",
            "category_name": "Patient",
            "status_code": "IN_PROGRESS",
            "status_name": "In Progress",
            "patient_id": patient["id"],
            "watchers": [me],
        }
        updated = ok(await clinic_a.put(f"{TASKS}/{created['id']}", json={"assignee": None}))
        assert (updated["assignee_id"], updated["assignee"], updated["watchers"]) == (
            None,
            None,
            [me],
        )
        updated = ok(await clinic_a.put(f"{TASKS}/{created['id']}", json={"watchers": []}))
        assert updated["watchers"] == []
        assert ok(await clinic_a.get(f"{TASKS}/{created['id']}")) == updated
        assert [code for code, _, _ in await task_events(db)] == ["task.created"]

    async def test_completing_and_reopening(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        created = await create_task(clinic_a)
        path = f"{TASKS}/{created['id']}"
        done = ok(await clinic_a.put(path, json={"status_code": "COMPLETED"}))
        assert REST_INSTANT.fullmatch(done["completed_at"])
        assert done == await expected_body(db, created["id"])
        completed_event = await expected_event(db, created["id"])
        assert completed_event["completed_at"] is not None
        customer = (await user(db, CLINIC_A)).customer_id

        # Already completed: completed_at stays, no second event.
        again = ok(await clinic_a.put(path, json={"status_code": "COMPLETED", "name": "N"}))
        assert again["completed_at"] == done["completed_at"]

        reopened = ok(await clinic_a.put(path, json={"status_code": "IN_PROGRESS"}))
        assert reopened["completed_at"] is None
        assert (await stored(db, created["id"])).completed_at is None

        ok(await clinic_a.put(path, json={"status_code": "COMPLETED"}))
        events = await task_events(db)
        assert [(code, owner) for code, owner, _ in events] == [
            ("task.created", customer),
            ("task.completed", customer),
            ("task.completed", customer),
        ]
        assert events[1][2] == completed_event
        assert events[2][2] == await expected_event(db, created["id"])

    async def test_refusals_write_nothing(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_task(clinic_a)
        theirs = await make_patient(clinic_b)
        other = await user(db, CLINIC_B)
        path = f"{TASKS}/{created['id']}"
        refusals: list[tuple[httpx.AsyncClient, str, dict[str, Any], int, dict[str, Any]]] = [
            (clinic_b, path, {"name": "mine now"}, 404, not_found(created["id"])),
            (clinic_a, f"{TASKS}/{UNKNOWN}", {"name": "x"}, 404, not_found(UNKNOWN)),
            (
                clinic_a,
                path,
                {"name": None},
                422,
                {
                    "error": "RequiredFieldCleared",
                    "detail": "name is required and cannot be cleared.",
                },
            ),
            (
                clinic_a,
                path,
                {"status_code": None},
                422,
                {
                    "error": "RequiredFieldCleared",
                    "detail": "status_code is required and cannot be cleared.",
                },
            ),
            (
                clinic_a,
                path,
                {"category_code": "T9"},
                422,
                unknown_code("category_code", "T9", CATEGORY_CHOICES),
            ),
            (
                clinic_a,
                path,
                {"patient_id": theirs["id"], "name": "x"},
                404,
                {
                    "error": "LinkedRowNotFound",
                    "detail": f"patient_id: no patient {theirs['id']}.",
                },
            ),
            (
                clinic_a,
                path,
                {"assignee": str(other.id)},
                404,
                not_involvable("assignee", other.id),
            ),
            (
                clinic_a,
                path,
                {"watchers": [{"id": str(other.id)}]},
                404,
                not_involvable("watchers", other.id),
            ),
        ]
        for client, url, body, status, error in refusals:
            await refused(db, client.put(url, json=body), status, error)
        assert ok(await clinic_a.get(path)) == created
        response = await clinic_a.put(path, json={"name": 5})
        [error] = response.json()["detail"]
        assert (error["loc"], error["type"]) == (["body", "name"], "string_type")

    async def test_staff_relinking_checks_kept_users(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        mine = await make_patient(clinic_a)
        theirs = await make_patient(clinic_b)
        me = await user(db, CLINIC_A)
        created = await create_task(pharmacist, patient_id=mine["id"], assignee=str(me.id))
        await refused(
            db,
            pharmacist.put(f"{TASKS}/{created['id']}", json={"patient_id": theirs["id"]}),
            404,
            not_involvable("assignee", me.id),
        )
        moved = ok(
            await pharmacist.put(
                f"{TASKS}/{created['id']}", json={"patient_id": theirs["id"], "assignee": None}
            )
        )
        assert moved["patient_id"] == theirs["id"]
        assert (await stored(db, created["id"])).customer_id == (
            await user(db, CLINIC_B)
        ).customer_id
        assert (await clinic_a.get(f"{TASKS}/{created['id']}")).status_code == 404
        assert ok(await clinic_b.get(f"{TASKS}/{created['id']}")) == moved


async def test_task_ids_are_uuid7(pharmacist: httpx.AsyncClient, db: Db) -> None:
    created = await create_task(pharmacist)
    assert uuid.UUID(created["id"]).version == 7
    assert await db.count(models.Task) == 1


async def test_a_retried_create_is_one_task(clinic_a: httpx.AsyncClient, db: Db) -> None:
    body = {"name": "Call back", "category_code": "T06"}
    headers = {"Idempotency-Key": "task-1"}
    first = await clinic_a.post(TASKS, json=body, headers=headers)
    again = await clinic_a.post(TASKS, json=body, headers=headers)
    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert await db.count(models.Task) == 1
    assert len(await task_events(db)) == 1
