"""Shared test support for authentication: a software WebAuthn authenticator and flows that make a
member, a session and a certificate in a few calls."""
