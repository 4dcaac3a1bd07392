"""The HTTP API (Litestar) and the `assess` command line."""
