"""Bringing the helpdesk's history in: spreadsheets of past commitments and the mailbox."""
