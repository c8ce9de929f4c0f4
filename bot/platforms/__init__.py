"""Talking to the platforms: one API client per platform (x, graph for Meta), credentials, rate limits, and the
registry of platforms (bot.platforms.registry)."""
