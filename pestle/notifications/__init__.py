"""Notification subscriptions and the event catalogue they subscribe to."""
