"""Delivery: the outbox that sends each approved reply once, and the platform policy guard in front of it."""
