"""Aftercare: discharges and their plans, progress, first sessions, follow-up tasks and outreach."""
