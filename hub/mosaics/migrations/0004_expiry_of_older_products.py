"""Give products published before expiry existed an expiry date, so they do not stay forever.

The retention in force when the migration runs applies (HUB_RETENTION_DAYS), counted from when
each product was finished, as for new products.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.db.models import F


def set_expiry(apps, schema_editor):  # type: ignore[no-untyped-def]
    request_model = apps.get_model("mosaics", "MosaicRequest")
    retention = timedelta(days=settings.HUB_RETENTION_DAYS)
    request_model.objects.filter(status="DONE", expires_at__isnull=True,
                                 finished_at__isnull=False).update(
        expires_at=F("finished_at") + retention)


class Migration(migrations.Migration):

    dependencies = [
        ("mosaics", "0003_layout_tiling_expiry"),
    ]

    operations = [
        migrations.RunPython(set_expiry, migrations.RunPython.noop),
    ]
