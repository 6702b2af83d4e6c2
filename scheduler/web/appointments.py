"""Placeholder: filled in phase 2."""
