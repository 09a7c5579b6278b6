"""rollback.schema."""
