"""Storage: the database tables, engine and migrations, the audit log and the console's users."""
