"""One module per command, each a Handler: load what the command is about, let the domain
decide, return the result and the changed aggregates (the service saves them)."""
