"""The order chain: orders from accounts, routed to the venue, fills booked to the ledger, T+2
settlement, watchlists. See `domain.py` for how money moves."""
