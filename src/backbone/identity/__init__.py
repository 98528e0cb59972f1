"""Authentication (the role of Koscom's SignKorea): members, identity verification, certificates,
simple authentication, step-up. It serves every other domain and imports none of them."""
