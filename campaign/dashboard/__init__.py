"""Organizer totals, charts with their tables, and exports of the same figures."""
