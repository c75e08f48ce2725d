"""Singer target for PostgreSQL built around COPY."""

from __future__ import annotations
