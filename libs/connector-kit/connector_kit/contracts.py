"""Facts about an outside system that more than one plugin must agree on.

Each plugin still knows one system; these are the few values of a system's contract that a
mapper translating into it also has to check against.
"""

from __future__ import annotations

# Glassdome's product statuses (its API refuses any other): the mapper's translation table
# may only produce these, and target-glassdome sets aside a record with another.
GLASSDOME_STATUSES = ("ACTIVE", "INACTIVE", "DISCONTINUED")
