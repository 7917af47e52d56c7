"""Intake: the composite call that writes a patient, a prescriber, an eRx and an order at once."""
