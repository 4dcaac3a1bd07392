"""Read models built by projections that follow the event store (issue 3)."""
