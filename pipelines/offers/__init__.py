"""Offers of the aggregator's products from the offers service (SYSTEMS.md section 5)."""
