"""Coordination between daemons through the database: claims on pending work, leases on sources and singleton jobs."""
