# syntax=docker/dockerfile:1
# Production image of durban-valuations: one image, whose command picks the role
# (api, scheduler, worker, beat, migrate or scrape; see src/durban_valuations/container).
#
#   docker build -t durban-valuations .
#   docker run --env-file .env durban-valuations migrate
#   docker run --env-file .env -p 8000:8000 durban-valuations api

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: the locked dependencies and the project, installed into a virtual
# environment. Wheels cover every locked package, so no compiler is installed.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps .

# Final stage: the virtual environment and a non-root user, nothing else.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_FORMAT=json \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    DATA_DIR=/tmp/durban-valuations
RUN groupadd --system --gid 10001 valuations \
    && useradd --system --uid 10001 --gid valuations --home-dir /app --no-create-home valuations
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Liveness of the API role; the other roles have no HTTP port, and orchestrators
# (Kubernetes, ECS) define their own checks for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
ENTRYPOINT ["python", "-m", "durban_valuations.container"]
CMD ["api"]
