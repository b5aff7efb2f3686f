"""Fixtures for the channel adapter tests: the in-process fake provider APIs."""

from fakes.providers import fake_sendgrid, fake_twilio  # noqa: F401
