"""The exchange venue: instrument master, matching engine, call auctions, journal, market data.
It knows no accounts and moves no money."""
