"""Runtime: the daemon, the wired service, claims and leases between daemons, database faults, health, reload, status, logs."""
