"""Outgoing webhooks: events written to a durable outbox with the change that caused them,
signed the Standard Webhooks way and delivered by the worker."""
