"""Scheduling: availability, busy time, therapists, appointments, groups, patients."""
