"""Quotes over WebSocket: the pipeline's market data as a snapshot then sequenced updates, encoded
once and fanned out to every subscriber (docs/quotes.md)."""
