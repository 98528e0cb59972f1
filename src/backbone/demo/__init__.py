"""Demo data: deterministic firms, customers, accounts, deposits and holdings for `make run`."""
