"""target-client-json: records as JSON files for the client system to pick up."""
