"""Outcomes: whether discharged patients were followed up."""
