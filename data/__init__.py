"""The data contract: table definitions, loading, validation, and the simulator. Knows nothing of models."""
