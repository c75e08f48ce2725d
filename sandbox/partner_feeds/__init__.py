"""Sample partner feeds for the demo: one folder per partner, copied into the landing folder.

The samples show each adapter quirk (BOM, ';' and decimal comma, cp1252 and "$1,299.00",
JSON under a key). A partner folder that already exists is left alone, so a processed and
archived sample is not delivered again by the next `sandbox up`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sandbox.settings import SandboxConfig

SAMPLES = Path(__file__).with_name("feeds")


def landing_dir(cfg: SandboxConfig) -> Path | None:
    """PARTNER_FEEDS_DIR, else `partner_feeds` beside the sandbox's ERP inbound folder."""
    if os.environ.get("PARTNER_FEEDS_DIR"):
        return Path(os.environ["PARTNER_FEEDS_DIR"]).resolve()
    return None if cfg.inbound_dir is None else cfg.inbound_dir.parent / "partner_feeds"


def seed_landing(cfg: SandboxConfig) -> int:
    """Copy the samples of partners without a landing folder yet; return files copied."""
    target = landing_dir(cfg)
    if target is None:
        return 0
    copied = 0
    for partner in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        if (target / partner.name).exists():
            continue
        shutil.copytree(partner, target / partner.name)
        copied += sum(1 for f in partner.iterdir() if f.is_file())
    return copied
