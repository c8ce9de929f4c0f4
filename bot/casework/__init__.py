"""Casework: the pipeline after storage, cases, drafts and their quality checks, approval, assignment, follow-ups."""
