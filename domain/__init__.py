"""The pure assessment domain: aggregates, events, rules and scoring (no I/O)."""
