"""The investor portal's pages, one module per part of seed 002's journey."""
