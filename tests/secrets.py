"""Distinctive secret values. The secret audit looks for them in everything the suite saw."""

CALLER_KEY = "pt-caller-key-7f3a9c1e5b"
NEW_KEY = "sk-integration-key-d41d8cd98f"
ALL = (CALLER_KEY, NEW_KEY)
