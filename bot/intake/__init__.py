"""Intake: reading the platforms (polling, webhooks), storing each mention once, accounts and their read budget."""
