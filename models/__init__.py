"""SQLAlchemy 2 tables and the SQL implementation of the engine's repository."""
