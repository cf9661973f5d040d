"""Append-only record of who changed what and when."""
