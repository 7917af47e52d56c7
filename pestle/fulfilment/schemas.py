"""The wire shapes of the pharmacy workflow: the request and response bodies are the Orders
area's (a transition, a shipment, the order); what is new is the record of a clinical
conflict kept on the status history."""

import uuid

from pydantic import BaseModel, Field

from pestle.orders.schemas import Order, ShipmentCreate, ShipmentOut, TransitionRequest

__all__ = ["Order", "RiskConflict", "ShipmentCreate", "ShipmentOut", "TransitionRequest"]


class RiskConflict(BaseModel):
    """One risk factor of the patient that a product's formula screens for, as recorded
    beside the pharmacist's `override_reason` (`order_status_change.conflicts`)."""

    product_id: uuid.UUID
    product_name: str
    risk_factor_id: uuid.UUID = Field(description="The patient's risk-factor mapping.")
    risk_factor_name: str
    risk_factor_type: str = Field(description="`allergy` or `medication`.")
    formula_codes: str = Field(description="`allergen_scdgs` or `medication_scdgs`.")
    code: str = Field(description="The code found both in the formula and on the risk factor.")

    def describe(self) -> str:
        kind = "allergen SCDG" if self.formula_codes == "allergen_scdgs" else "medication SCDG"
        return (
            f"{self.product_name} (product {self.product_id}): {self.risk_factor_type} "
            f"{self.risk_factor_name!r} matches the formula's {kind} {self.code}"
        )
