"""Offers of the aggregator's products from the offers service (docs/offers.md)."""
