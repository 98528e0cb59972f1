"""The brokerage core (the role of Koscom's Power Base): firms, customers, accounts, orders,
settlement. It does not know the open platform."""
