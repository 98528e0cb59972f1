"""The double-entry ledger shared by cash, securities and tokens. It knows no product."""
