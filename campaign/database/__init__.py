"""Keeping the database well: SQLite's write queue and checkpoints, and backups."""
