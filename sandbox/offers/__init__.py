"""Offers service stand-in (docs/offers.md) and the aggregator's sandbox products."""
