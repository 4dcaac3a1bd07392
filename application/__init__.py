"""Command handlers, event-store queries, settings and the composition root."""
