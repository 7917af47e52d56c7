"""Every ORM model, one per file, re-exported here."""

from pestle.models.api_key import ApiKey
from pestle.models.barcode import BARCODE_ENTITY_TYPES, Barcode
from pestle.models.base import Base
from pestle.models.customer import Customer
from pestle.models.idempotency_record import IdempotencyRecord
from pestle.models.job_run import JobRun
from pestle.models.login_failure import LoginFailure
from pestle.models.notification import (
    CHANNELS,
    Delivery,
    DeliveryAttempt,
    ResourceSequence,
    Subscription,
    SubscriptionSecret,
)
from pestle.models.order import (
    ORDER_STATUS_CODES,
    STUCK_REASONS,
    Order,
    OrderLine,
    OrderLineLot,
    OrderStatusChange,
    Shipment,
)
from pestle.models.outbox_event import OutboxEvent
from pestle.models.patient import Patient
from pestle.models.prescriber import (
    Prescriber,
    PrescriberAddress,
    PrescriberCredential,
    PrescriberRestriction,
    Qualification,
)
from pestle.models.prescription import (
    PRESCRIPTION_STATUSES,
    ElectronicPrescription,
    Prescription,
    PrescriptionFill,
)
from pestle.models.product import (
    Formula,
    FormulaIngredient,
    InventoryLot,
    LotAdjustment,
    LotAssociation,
    Product,
)
from pestle.models.risk_factor import RiskFactorMapping, RiskFactorText
from pestle.models.risk_factor_concept import RiskFactorConcept, RiskFactorConceptName
from pestle.models.task import TASK_CATEGORIES, TASK_STATUSES, Task, TaskWatcher
from pestle.models.user import CUSTOMER_ROLES, STAFF_ROLES, Role, User

__all__ = [
    "BARCODE_ENTITY_TYPES",
    "CHANNELS",
    "CUSTOMER_ROLES",
    "ORDER_STATUS_CODES",
    "PRESCRIPTION_STATUSES",
    "STAFF_ROLES",
    "STUCK_REASONS",
    "TASK_CATEGORIES",
    "TASK_STATUSES",
    "ApiKey",
    "Barcode",
    "Base",
    "Customer",
    "Delivery",
    "DeliveryAttempt",
    "ElectronicPrescription",
    "Formula",
    "FormulaIngredient",
    "IdempotencyRecord",
    "InventoryLot",
    "JobRun",
    "LoginFailure",
    "LotAdjustment",
    "LotAssociation",
    "Order",
    "OrderLine",
    "OrderLineLot",
    "OrderStatusChange",
    "OutboxEvent",
    "Patient",
    "Prescriber",
    "PrescriberAddress",
    "PrescriberCredential",
    "PrescriberRestriction",
    "Prescription",
    "PrescriptionFill",
    "Product",
    "Qualification",
    "ResourceSequence",
    "RiskFactorConcept",
    "RiskFactorConceptName",
    "RiskFactorMapping",
    "RiskFactorText",
    "Role",
    "Shipment",
    "Subscription",
    "SubscriptionSecret",
    "Task",
    "TaskWatcher",
    "User",
]
