"""The gazetteer of US jurisdictions an official can serve."""
