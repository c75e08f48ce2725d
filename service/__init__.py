"""The HTTP side: one FastAPI app over what the pipelines load (customers, products, offers).

`service.main.create_app` builds it; `python -m service` (or `make serve`) runs it.
"""
