"""Training code (beside the core: depends on models and data, never the reverse)."""
