"""target-tracos: TracOS (MongoDB) as a Singer target. Knows TracOS, and no client system."""
