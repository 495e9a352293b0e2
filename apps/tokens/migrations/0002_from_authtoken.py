"""Move DRF authtoken keys (stored in clear, never expiring) into ApiToken: hashed, expiring
API_TOKEN_DAYS from now so integrations keep working, then erase the clear keys."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("tokens", "ApiToken")
    expires = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {OLD_TABLE}")
        rows = cursor.fetchall()
        for key, user_id in rows:
            ApiToken.objects.create(
                user_id=user_id,
                name="Migrated authtoken",
                prefix=key[:8],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                expires_at=expires,
            )
        cursor.execute(f"DELETE FROM {OLD_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("tokens", "0001_apitoken")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
