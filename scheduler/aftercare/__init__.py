"""Aftercare: from discharge into care: plans, first sessions, follow-up rules and their tasks, reports."""
