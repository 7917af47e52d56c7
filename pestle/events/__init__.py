"""Domain events: the catalogue, and the outbox they are written to."""
