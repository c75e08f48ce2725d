"""Shared pieces for connectors."""
