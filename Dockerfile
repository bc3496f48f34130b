# Clawling: one process serving the configured chat apps (see docs/deploy.md).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLAWLING_DATA_DIR=/data \
    CLAWLING_HTTP_HOST=0.0.0.0 \
    CLAWLING_HTTP_PORT=8080

# pg_dump / pg_restore for `clawling backup` and `clawling restore` (PostgreSQL 15,
# the version of the database in docker-compose.yml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 clawling \
    && mkdir /data && chown clawling /data

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY README.md alembic.ini ./
COPY bot ./bot
COPY adapters ./adapters
COPY memory ./memory
COPY skills ./skills
COPY migrations ./migrations
RUN pip install --no-deps .

USER clawling
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CLAWLING_HTTP_PORT', '8080'), timeout=4)"

# Migrations run on start (under a lock, so several replicas can start together).
CMD ["clawling", "run"]
