"""Every domain router, mounted under /api/v1."""

from fastapi import APIRouter

from pestle.auth.endpoints import router as auth_router
from pestle.barcodes.endpoints import router as barcodes_router
from pestle.fulfilment.endpoints import router as fulfilment_router
from pestle.intake.endpoints import router as intake_router
from pestle.inventory.endpoints import router as inventory_router
from pestle.notifications.endpoints import router as notifications_router
from pestle.orders.endpoints import router as orders_router
from pestle.patients.endpoints import router as patients_router
from pestle.prescribers.endpoints import router as prescribers_router
from pestle.prescriptions.endpoints import router as prescriptions_router
from pestle.products.endpoints import router as products_router
from pestle.reports.endpoints import router as reports_router
from pestle.search.endpoints import router as search_router
from pestle.tasks.endpoints import router as tasks_router
from pestle.users.endpoints import router as users_router

API_PREFIX = "/api/v1"

router = APIRouter(prefix=API_PREFIX)
router.include_router(auth_router)
router.include_router(users_router)
router.include_router(notifications_router)
router.include_router(patients_router)
router.include_router(prescribers_router)
router.include_router(intake_router)
router.include_router(prescriptions_router)
router.include_router(inventory_router)
router.include_router(products_router)
router.include_router(orders_router)
router.include_router(fulfilment_router)
router.include_router(barcodes_router)
router.include_router(search_router)
router.include_router(reports_router)
router.include_router(tasks_router)
