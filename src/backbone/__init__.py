"""Backbone: an open-source, self-hostable capital-markets backbone."""

__version__ = "0.1.0"
