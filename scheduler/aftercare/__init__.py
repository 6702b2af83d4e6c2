"""Aftercare: from discharge into care: plans and progress, first sessions, follow-up tasks and outreach, reports."""
