"""Shared foundations: database helpers, the clock, time, audit, access policy, settings."""
