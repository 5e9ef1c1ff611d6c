"""Messaging: the webhook inbox and the outbox of messages to LINE users."""
