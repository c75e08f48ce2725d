"""What every router shares: settings, the database engine, errors, the API key check."""
