"""Persistence: SQLAlchemy models, sessions, queries; alembic migrations own the schema."""
