"""Prescribers: the clinicians who send prescriptions, and their state licences."""
