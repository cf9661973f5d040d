"""Bringing outside records in: the helpdesk's mail history and spreadsheets."""
