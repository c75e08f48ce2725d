# syntax=docker/dockerfile:1
# The connectors as one image: meltano, dlt, every local plugin and the service, installed
# from the project by uv into /app/.venv. Default command: `make sync` (set
# MELTANO_ENVIRONMENT=prod and the connection variables; see .env.example).

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv>=0.9,<1"
WORKDIR /app
# project metadata first, so the dependency layer is cached until a pyproject changes
COPY pyproject.toml README.md requirements.lock ./
COPY libs libs
COPY taps taps
COPY targets targets
COPY mappers mappers
COPY sandbox sandbox
COPY pipelines pipelines
COPY service service
COPY ops ops
# exactly the lock, then the workspace and its plugins (editable, as in development), as
# `make install` does; ops.lockcheck fails the build when the lock is out of date
RUN uv venv .venv \
    && uv pip sync --python .venv/bin/python requirements.lock \
    && uv pip install --python .venv/bin/python --no-deps -e . \
        $(for m in libs/* taps/* targets/* mappers/*; do printf -- '-e %s ' "$m"; done) \
    && .venv/bin/python -m ops.lockcheck \
    && touch .venv/.installed

FROM python:3.11-slim AS runtime
RUN apt-get update \
    && apt-get install --yes --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin connectors
# uv on PATH: the Makefile's `install` step finds it and, with .venv/.installed current, does nothing
COPY --from=build /usr/local/bin/uv /usr/local/bin/uv
WORKDIR /app
COPY --from=build --chown=connectors:connectors /app /app
COPY --chown=connectors:connectors Makefile meltano.yml ./
COPY --chown=connectors:connectors meltano meltano
COPY --chown=connectors:connectors .dlt/config.toml .dlt/config.toml
RUN mkdir -p data output reports _pipelines .meltano && chown -R connectors:connectors /app
ENV PATH=/app/.venv/bin:$PATH \
    MELTANO_CLI_DISABLE_VERSION_CHECK=true \
    MELTANO_SEND_ANONYMOUS_USAGE_STATS=false \
    PYTHONUNBUFFERED=1
USER connectors
CMD ["make", "sync"]
