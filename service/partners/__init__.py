"""Partner catalog ingest (partner-catalog-ingest.md): partners, their keys, uploaded feeds."""
