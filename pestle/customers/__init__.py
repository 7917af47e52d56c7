"""Customers: the telehealth brands and clinics that own everything else."""
