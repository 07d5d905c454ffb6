"""Requests store the validated order as one JSON document (MosaicSpec.to_json) instead of a
column per option under other names."""

from django.db import migrations, models


def columns_to_options(apps, schema_editor):
    MosaicRequest = apps.get_model("mosaics", "MosaicRequest")
    for req in MosaicRequest.objects.all().iterator():
        req.options = {
            "aoi": req.aoi, "start": req.start_date.isoformat(),
            "end": req.end_date.isoformat(), "period": req.period_type,
            "resolution": req.resolution, "crs": f"EPSG:{req.crs_epsg}",
            "format": req.file_format, "bands": list(req.bands),
            "aux": list(req.aux_layers or []), "metadata": list(req.metadata_options or []),
            "name": req.name, "cloud_buffer": req.cloud_buffer, "layout": req.layout,
            "tiling": req.tiling,
        }
        req.save(update_fields=["options"])


def options_to_columns(apps, schema_editor):
    MosaicRequest = apps.get_model("mosaics", "MosaicRequest")
    for req in MosaicRequest.objects.all().iterator():
        o = req.options
        req.aoi, req.period_type = o["aoi"], o["period"]
        req.start_date, req.end_date = o["start"], o["end"]
        req.resolution, req.crs_epsg = o["resolution"], int(o["crs"].removeprefix("EPSG:"))
        req.file_format, req.bands, req.aux_layers = o["format"], o["bands"], o["aux"]
        req.metadata_options, req.cloud_buffer = o["metadata"], o["cloud_buffer"]
        req.layout, req.tiling = o["layout"], o["tiling"]
        req.save()


OLD_COLUMNS = ("aoi", "period_type", "start_date", "end_date", "resolution", "crs_epsg",
               "file_format", "bands", "aux_layers", "metadata_options", "cloud_buffer",
               "layout", "tiling")


class Migration(migrations.Migration):
    dependencies = [("mosaics", "0005_mosaicrequest_public_url")]

    operations = [
        migrations.AddField(
            model_name="mosaicrequest", name="options",
            field=models.JSONField(null=True, help_text="the validated order: "
                                   "MosaicSpec.to_json(), the REST API's shape")),
        migrations.RunPython(columns_to_options, options_to_columns),
        migrations.AlterField(
            model_name="mosaicrequest", name="options",
            field=models.JSONField(help_text="the validated order: MosaicSpec.to_json(), the "
                                   "REST API's shape")),
        migrations.AlterField(
            model_name="mosaicrequest", name="name",
            field=models.CharField(max_length=80, help_text="the order's name (the spec's own)")),
        *[migrations.RemoveField(model_name="mosaicrequest", name=name) for name in OLD_COLUMNS],
    ]
