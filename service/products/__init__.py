"""Products and their cached offers (product-aggregator.md)."""
