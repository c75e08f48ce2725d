"""tap-client-json: the client ERP's work-order files as a Singer stream."""
