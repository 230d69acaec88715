"""Transport-free conversation: (learner, input) -> Reply. Telegram types never enter here."""
