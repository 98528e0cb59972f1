"""The open platform (금융투자 핀테크 포털): fintech companies and their apps, virtual accounts, the
two signed consents, an OAuth 2.0 authorization server and the open API through which an app reads
an investor's accounts at every firm, only what the investor signed for, only while it is valid.

Sub-packages by responsibility; `services.OpenPlatform` gathers them for the composition root.
Firms are reached only through `adapters/` (an import-linter contract says so).
"""
