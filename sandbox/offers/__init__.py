"""Offers service stand-in (SYSTEMS.md section 5) and the aggregator's sandbox products."""
