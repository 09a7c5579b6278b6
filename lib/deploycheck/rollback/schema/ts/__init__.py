"""rollback.schema.ts."""
