# Production image: gunicorn (gunicorn.conf.py) + whitenoise. Built by docker-compose.yml.
# Its build steps are deploy/apt-install.sh and deploy/image-build.sh, which `make test` also
# runs outside Docker, so a change that breaks this build fails the tests first.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# System packages: the one list CI installs too (Pango for the morning-pack PDF, pg tools).
COPY deploy/apt-install.sh deploy/apt-runtime.txt deploy/
RUN APT_INSTALL_OPTS=--no-install-recommends deploy/apt-install.sh deploy/apt-runtime.txt \
    && rm -rf /var/lib/apt/lists/*
# The whole dependency tree, pinned with hashes (requirements.in → `make lock`).
COPY requirements.txt .
RUN pip install --require-hashes --no-deps -r requirements.txt
COPY . .
RUN STATIC_ROOT=/app/staticfiles deploy/image-build.sh
RUN useradd --system --home /app pms && mkdir -p /app/var && chown -R pms /app/var
USER pms
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
