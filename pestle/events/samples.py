"""A sample `data` for every event code, field for field what the real event carries, for
`GET /api/v1/notifications/sample/{event_code}` and sample sends. tests/notifications checks
each against an event produced for real, so a payload change that forgets its sample fails."""

from pestle.kit.jsonfmt import JsonValue

ORDER_ID = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"
PATIENT_ID = "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61"
PRESCRIPTION_ID = "0195a0e3-1b2c-7d3e-8f40-5a6b7c8d9e0f"
PRODUCT_ID = "0195a0e1-0a1b-7c2d-8e3f-4a5b6c7d8e9f"
SHIPMENT_ID = "46aaf265-60bb-4c34-bc08-be20e1628412"
TASK_ID = "0195a0e4-2c3d-7e4f-9a50-6b7c8d9e0f1a"
CUSTOMER_ID = "b658f16f-819c-4503-aede-bd555fc4ebfb"
TRACKING_NUMBER = "9200190347375200504724"


def _order(app_url: str, status_code: str, status_name: str) -> dict[str, JsonValue]:
    return {
        "id": ORDER_ID,
        "created_at": "2025-03-16T22:55:37.920593",
        "updated_at": "2025-03-16T22:55:37.920593",
        "url": f"{app_url}/orders/{ORDER_ID}",
        "order_number": "ORD250316225537XHWD",
        "last_name": "Davis",
        "first_name": "Rodrigo",
        "status_name": status_name,
        "status_code": status_code,
    }


def _shipment(app_url: str, status: str) -> dict[str, JsonValue]:
    return {
        "carrier": "USPS",
        "service_level": "Ground Advantage",
        "status": status,
        "tracking_number": TRACKING_NUMBER,
        "tracking_url": "https://tools.usps.com/go/TrackConfirmAction_input?origTrackNum="
        + TRACKING_NUMBER,
        "estimated_delivery_date": "2025-07-31T17:13:13.520651",
        "created_at": "2025-07-31T17:13:13.520283",
        "updated_at": "2025-07-31T17:13:13.520304",
        "url": f"{app_url}/shipments/{SHIPMENT_ID}",
        "order_id": ORDER_ID,
        "order_number": "ORD250316225537XHWD",
    }


def _prescription(status: str, cancelled_at: str | None) -> dict[str, JsonValue]:
    return {
        "id": PRESCRIPTION_ID,
        "created_at": "2025-03-15T12:00:00.000000",
        "updated_at": cancelled_at or "2025-03-15T12:00:00.000000",
        "customer_id": CUSTOMER_ID,
        "electronic_prescription_id": "0195a0e3-0a1b-7c2d-8e3f-4a5b6c7d8e9f",
        "patient_id": PATIENT_ID,
        "prescriber_id": "0195a0e0-9f8e-7d6c-8b5a-493827160504",
        "prescription_product_id": PRODUCT_ID,
        "drug_name": "Mupirocin 2% Cream",
        "name": "Mupirocin 2% Cream",
        "description": None,
        "strength": "2%",
        "product_code": "SUPERSPRAY15",
        "product_code_type": "ND",
        "quantity": 30.0,
        "units": "Gram",
        "days_supply": 30,
        "refills": 2,
        "fills_used": 0,
        "fills_remaining": 3,
        "sig": "Apply to the affected area twice daily",
        "directions": None,
        "notes": None,
        "substitution_allowed": True,
        "serial_number": None,
        "prescriber_order_number": "PON-1042",
        "dea_schedule": None,
        "written_at": "2025-03-15T00:00:00.000000",
        "expires_at": "2026-03-15T00:00:00.000000",
        "status": status,
        "needs_clarification": False,
        "clarification_reason": None,
        "cancelled_at": cancelled_at,
    }


def _patient(updated_at: str) -> dict[str, JsonValue]:
    return {
        "id": PATIENT_ID,
        "created_at": "2025-03-15T12:00:00.000000",
        "updated_at": updated_at,
        "first_name": "Rodrigo",
        "middle_name": None,
        "last_name": "Davis",
        "gender": "male",
        "email": "rodrigo.davis@example.com",
        "phone": "6417383445",
        "date_of_birth": "1990-01-01",
        "driver_license_number": None,
        "driver_license_state": None,
        "ssn": "*****6789",
        "primary_language": "en",
        "guardian_name": None,
        "guardian_phone": None,
        "guardian_email": None,
        "guardian_relationship": None,
        "height_inches": 72.0,
        "weight_pounds": 180.0,
        "external_id": "my-system-128318AA2",
        "is_smoker": False,
        "is_diabetic": False,
        "is_pregnant": False,
        "receive_sms": True,
        "receive_email": True,
        "address": {
            "address_1": "140 Lindgren Streets",
            "address_2": "Apt 227",
            "city": "North Consueloburgh",
            "state": "CA",
            "zip_code": "02108",
            "country": "US",
        },
        "is_minor": False,
    }


def _task(status_code: str, status_name: str) -> dict[str, JsonValue]:
    # The Task object with ids for its users (tasks.service.event_data). No `url`: the
    # pharmacy's app has no task page, and tasks Pestle opens itself know no app URL.
    done = status_code == "COMPLETED"
    return {
        "id": TASK_ID,
        "created_at": "2025-03-17T09:30:00.000000",
        "updated_at": "2025-03-17T15:45:00.000000" if done else "2025-03-17T09:30:00.000000",
        "name": "Confirm shelf-stability of batch B-817",
        "description": "The replacement batch needs a BUD check before compounding.",
        "category_code": "T01",
        "category_name": "Order",
        "status_code": status_code,
        "status_name": status_name,
        "assignee_id": "0195a0e5-3d4e-7f5a-8b61-7c8d9e0f1a2b",
        "order_id": ORDER_ID,
        "patient_id": PATIENT_ID,
        "prescription_id": None,
        "created_by_id": "0195a0e5-4e5f-7a6b-9c72-8d9e0f1a2b3c",
        "completed_at": "2025-03-17T15:45:00.000000" if done else None,
    }


def sample(event_code: str, app_url: str) -> dict[str, JsonValue]:
    """The sample `data` of ``event_code``, links built from ``app_url``; KeyError when the
    code is not in the catalogue."""
    app_url = app_url.rstrip("/")
    received = _order(app_url, "N01", "Received")
    samples: dict[str, dict[str, JsonValue]] = {
        "order.created": received,
        "order.updated": _order(app_url, "N01", "Received"),
        "order.status_changed": _order(app_url, "P01", "Data Entry")
        | {"previous_status_code": "N01", "previous_status_name": "Received"},
        "order.stuck": received
        | {
            "stuck_reason": "too_early_to_fill",
            "stuck_detail": "The prescription's last fill was on 2025-03-01; "
            "the next may be filled from 2025-03-24.",
            "resolves_at": "2025-03-24T00:00:00.000000",
        },
        "order.cancelled": _order(app_url, "X01", "Cancelled"),
        "order.shipped": _shipment(app_url, "shipped"),
        "order.delivered": _shipment(app_url, "delivered"),
        "prescription.created": _prescription("active", None),
        "prescription.cancelled": _prescription("cancelled", "2025-03-18T10:02:11.482913"),
        "patient.created": _patient("2025-03-15T12:00:00.000000"),
        "patient.updated": _patient("2025-03-16T08:12:45.106284"),
        "inventory.low_stock": {
            "product_id": PRODUCT_ID,
            "product_type": "prescription",
            "sku": "MUP-2-30",
            "name": "Mupirocin 2% Cream",
            "current_stock": 9,
            "reorder_threshold": 10,
            "detected_at": "2025-03-18T14:05:09.331872",
        },
        "inventory.lot_expiring": {
            "lot_id": "0195a0e6-5f6a-7b7c-8d83-9e0f1a2b3c4d",
            "type": "prescription",
            "batch_number": "B-817",
            "expiration_date": "2025-04-17T00:00:00.000000",
            "days_left": 30,
            "current_quantity": 80,
            "unit_type": "g",
            "products": [
                {
                    "product_id": PRODUCT_ID,
                    "product_type": "prescription",
                    "name": "Mupirocin 2% Cream",
                }
            ],
        },
        "task.created": _task("NEW", "New"),
        "task.completed": _task("COMPLETED", "Completed"),
    }
    return samples[event_code]
