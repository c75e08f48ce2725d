"""The operations console at /admin: partners, runs, dead letters and jobs, server-rendered."""
