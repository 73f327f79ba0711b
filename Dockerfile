# One image for the api, worker, sweeper, flower and migrate services (see docker-compose.yml).
# CPU by default; GPU workers build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (any CUDA build of torch 2.13.0) and run with a GPU reservation.
FROM python:3.11-slim
ARG TORCH_INDEX=""
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# A CJK font, so contact sheets show Chinese control texts (api/sheet.py looks for Noto CJK).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY alpaca ./alpaca
COPY alpaca_ads ./alpaca_ads
COPY kinds ./kinds
COPY api ./api
COPY config ./config
COPY objects ./objects
COPY store ./store
COPY webhooks ./webhooks
COPY worker ./worker
COPY client ./client
COPY migrations ./migrations
COPY alembic.ini ./
RUN if [ -n "$TORCH_INDEX" ]; then pip install "torch==2.13.0" --index-url "$TORCH_INDEX"; \
    else pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu; fi \
 && pip install .
RUN useradd --create-home --uid 10001 app && mkdir -p /data && chown app /data
USER app
