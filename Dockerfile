# Linli image: the API, Celery workers, beat and migrations all run from it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the distribution needs (no .venv, var/ or tests in the build context's copy).
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY core ./core
COPY pricing ./pricing
COPY marketplace ./marketplace
COPY dispatch ./dispatch
COPY audit ./audit
COPY api ./api
COPY migrations ./migrations

# Pinned by the same constraints file as development; then an unprivileged user owns the data
# folder (Celery beat's schedule) and nothing else.
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/linli linli \
    && install -d -o linli -g linli /var/lib/linli

WORKDIR /home/linli
USER linli
ENV LINLI_DATA_DIR=/var/lib/linli \
    LINLI_ENVIRONMENT=production
EXPOSE 8000

CMD ["uvicorn", "api.app:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
