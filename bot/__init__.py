"""Career-advice chat bot for South African learners."""

__version__ = "0.1.0"
