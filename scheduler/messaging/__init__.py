"""Texts: planning reminders, wording rules, replies, dispatch, sending, SMS backends."""
