from django.db import migrations, models
from shapely.geometry import shape


def bbox_of_every_request(apps, schema_editor):
    """Requests ordered before the field get their AOI's bbox, as new ones do."""
    MosaicRequest = apps.get_model("mosaics", "MosaicRequest")
    for req in MosaicRequest.objects.filter(aoi_bbox__isnull=True).iterator():
        req.aoi_bbox = [round(v, 7) for v in shape(req.options["aoi"]).bounds]
        req.save(update_fields=["aoi_bbox"])


class Migration(migrations.Migration):

    dependencies = [
        ("mosaics", "0007_distributed_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="mosaicrequest",
            name="aoi_bbox",
            field=models.JSONField(
                blank=True, null=True,
                help_text="the AOI's [min_lon, min_lat, max_lon, max_lat]: what a list of "
                          "requests shows of it, without reading its geometry"),
        ),
        migrations.RunPython(bbox_of_every_request, migrations.RunPython.noop),
    ]
