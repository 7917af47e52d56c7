"""Patients, their guardians and their risk factors (allergies, conditions, medications)."""
