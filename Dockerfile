# The coding agent worker: `docker build -t coding-agent .`, or `docker-compose up coding-agent-worker`.
#
# The image carries what every worker needs at run time: git and openssh-client (clone/push over
# HTTPS and SSH) and bubblewrap (the sandbox of the agent's shell commands). It runs as a non-root
# user; task workspaces live under /var/lib/coding-agent/workspaces (give it disk).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client bubblewrap ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 agent \
    && useradd --uid 10001 --gid agent --create-home --shell /usr/sbin/nologin agent \
    && mkdir -p /var/lib/coding-agent/workspaces \
    && chown -R agent:agent /var/lib/coding-agent

WORKDIR /app
# Dependencies and the package first, so a change to the worker script alone rebuilds one small layer.
COPY pyproject.toml ./
COPY src ./src
RUN pip install . && rm -rf build src/*.egg-info
COPY workers ./workers

USER agent
ENV CODING_AGENT_DATA_DIR=/var/lib/coding-agent \
    CODING_AGENT_WORKSPACE_ROOT=/var/lib/coding-agent/workspaces

# Metrics (CODING_AGENT_METRICS_PORT) and readiness (CODING_AGENT_HEALTH_PORT), when configured.
EXPOSE 9464 8081

# Readiness of the worker's dependencies (Temporal, NATS, database); exit 1 when one is down.
HEALTHCHECK --interval=30s --timeout=20s --start-period=30s --retries=3 CMD ["coding-agent", "health"]

# SIGTERM stops polling and lets running activities finish within CODING_AGENT_SHUTDOWN_GRACE_SECONDS:
# give the container a longer stop timeout than that (docker's default is 10 s).
STOPSIGNAL SIGTERM
CMD ["python", "workers/coding_agent_worker.py"]
