"""Thin adapters from a transport (Telegram, terminal) to the dialogue."""
