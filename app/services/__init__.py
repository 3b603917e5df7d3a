"""Business rules: plain functions that take and return models, never request objects."""
