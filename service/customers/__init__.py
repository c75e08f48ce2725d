"""Customers (customer-data-pipeline.md): ingest through the dlt pipeline, read from Postgres."""
