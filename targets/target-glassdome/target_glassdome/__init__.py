"""target-glassdome: Singer target for the Glassdome products API."""
