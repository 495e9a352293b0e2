#!/usr/bin/env bash
# The build-time steps of the production image, in one place: the Dockerfile runs this script,
# and `make image-build` (part of `make test`) runs it outside Docker into a temporary folder, so
# a change that would break `docker build` fails the tests instead.
#   STATIC_ROOT  where collectstatic writes (required: /app/staticfiles in the image)
#   PYTHON       the interpreter (default: python)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${STATIC_ROOT:?set STATIC_ROOT (where collectstatic writes)}"
PYTHON=${PYTHON:-python}

# Exactly the production switches; the secret exists only for this step.
export DEBUG=false STATIC_MANIFEST=true STATIC_ROOT DJANGO_SETTINGS_MODULE=pms_project.settings
export SECRET_KEY=${SECRET_KEY:-build-only-not-a-secret}

echo "image-build: collectstatic (manifest, compressed) into $STATIC_ROOT"
"$PYTHON" manage.py collectstatic --noinput --clear -v0

echo "image-build: every {% static %} name of the templates is in the manifest"
"$PYTHON" - <<'PY'
import re
import sys
from pathlib import Path

import django

django.setup()
from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: E402

names = set()
for template in [*Path("templates").rglob("*.html"), *Path("apps").rglob("templates/**/*.html")]:
    names.update(re.findall(r"{%\s*static\s+['\"]([^'\"]+)['\"]", template.read_text()))
missing = []
for name in sorted(names):
    try:
        staticfiles_storage.url(name)
    except ValueError:
        missing.append(name)
if missing:
    sys.exit(f"image-build: not in the static manifest: {', '.join(missing)}")
print(f"image-build: {len(names)} static names resolve")
PY

echo "image-build: WeasyPrint finds its system libraries (deploy/apt-runtime.txt)"
"$PYTHON" -c "import weasyprint; print('image-build: weasyprint', weasyprint.__version__)"

echo "image-build: gunicorn loads gunicorn.conf.py and the application"
"$PYTHON" -m gunicorn --check-config -c gunicorn.conf.py
echo "image-build: ok"
