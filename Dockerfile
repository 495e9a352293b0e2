# Production image: gunicorn + whitenoise. Built by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings to load; these values exist only for the build step.
RUN DEBUG=false SECRET_KEY=build-only STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput
RUN useradd --system --home /app pms && mkdir -p /app/var && chown -R pms /app/var
USER pms
EXPOSE 8000
CMD ["gunicorn", "pms_project.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
