# One image for the three processes; the compose file picks the entry point.
FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY core ./core
COPY indexer ./indexer
COPY relayer ./relayer
COPY api ./api
COPY anvil ./anvil
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps . && useradd --create-home app
USER app
CMD ["python", "-m", "api"]
