"""tap-tracos: TracOS work orders that the client system has not received yet."""
