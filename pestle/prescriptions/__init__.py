"""Prescriptions: electronic prescriptions received, matched, and the fills they allow."""
