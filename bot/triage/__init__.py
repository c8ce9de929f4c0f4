"""Triage: what is decided about each mention (the interface), the classifier, rules, language, priority and learning."""
