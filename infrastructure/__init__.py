"""What talks to the world: databases, the delivery log, network egress."""
