"""The relay from the event store to Kafka, and the Kafka consumers."""
