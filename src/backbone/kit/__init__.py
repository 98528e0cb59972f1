"""Domain-agnostic building blocks: money, clock, ids, invariant checks, database, pagination, logs."""
