"""Moving a user's data in and out: CSV import, CSV/JSON export, the demo sample, backups."""
