"""Test doubles and helpers shared by the test suites (not part of the shipped package)."""
