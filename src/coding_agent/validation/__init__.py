"""Validation: find how a repository tests itself, run those commands, and read the test counts."""
