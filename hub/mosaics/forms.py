"""The ordering dialogue: a form whose checks are those of compositing.orders.spec."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from compositing import l2a
from compositing.orders.spec import (
    AUX_LAYERS,
    FORMATS,
    METADATA_OPTIONS,
    MosaicSpec,
    SpecError,
)
from compositing.orders.spec import parse_spec as parse_order

PERIOD_CHOICES = [("day", "Day"), ("tenday", "Ten days (1-10, 11-20, 21-end)"),
                  ("month", "Month"), ("quarter", "Quarter"), ("year", "Year"),
                  ("custom", "Custom start and end")]


class OrderForm(forms.Form):
    """Every ordering option; errors land next to the field they concern."""

    name = forms.CharField(max_length=80, initial="mosaic",
                           help_text="letters, digits, '-' and '_'; used in file names")
    aoi = forms.CharField(
        label="Area of interest", widget=forms.Textarea(attrs={"rows": 4}),
        help_text="a bounding box min_lon,min_lat,max_lon,max_lat or a GeoJSON polygon (WGS 84)")
    period = forms.ChoiceField(choices=PERIOD_CHOICES, initial="month")
    start = forms.CharField(label="Start date", widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="any day in the period; it is aligned to the period")
    end = forms.CharField(label="End date (custom period only)", required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    resolution = forms.ChoiceField(choices=[(r, f"{r} m") for r in l2a.RESOLUTIONS_M],
                                   initial=20)
    crs = forms.CharField(label="Coordinate system", initial="UTM",
                          help_text="'UTM' for the AOI's UTM zone, or an EPSG code "
                                    "(EPSG:4326 WGS 84, EPSG:3035 ETRS89-LAEA, …)")
    format = forms.ChoiceField(choices=list(FORMATS.items()), initial="GTiff")
    layout = forms.ChoiceField(
        label="GeoTIFF files", initial="multiband",
        choices=[("multiband", "One multi-band file for the bands"),
                 ("per_layer", "One file per band (as S2GM)")],
        help_text="GeoTIFF only; auxiliary layers are always files of their own, JPEG 2000 is "
                  "one file per band and NetCDF one file")
    tiling = forms.ChoiceField(
        label="Product split", initial="single",
        choices=[("single", "One product"),
                 ("mgrs", "One subfolder per Sentinel-2 MGRS tile")],
        help_text="tile subfolders (as S2GM delivered large orders) need a UTM coordinate "
                  "system")
    bands = forms.MultipleChoiceField(
        choices=[(b.name, f"{b.name} ({b.center_nm} nm, {b.description})") for b in l2a.BANDS],
        widget=forms.CheckboxSelectMultiple, initial=["B02", "B03", "B04", "B08"])
    aux = forms.MultipleChoiceField(
        label="Auxiliary layers", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(k, f"{k}: {v}") for k, v in AUX_LAYERS.items()])
    cloud_buffer = forms.IntegerField(
        label="Cloud and shadow buffer (pixels)", initial=0, min_value=0,
        help_text="also drop observations this many pixels around detected clouds and shadows")
    metadata = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, initial=["json"],
        choices=[(m, m.upper() if m == "json" else "INSPIRE XML") for m in METADATA_OPTIONS])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        options = {k: data.get(k) for k in ("name", "aoi", "period", "start", "end",
                                              "resolution", "crs", "format", "bands", "aux",
                                              "metadata", "cloud_buffer", "layout",
                                              "tiling")}
        if options["period"] != "custom":
            options["end"] = None
        try:
            self.spec: MosaicSpec = parse_order(options, max_area_km2=settings.HUB_MAX_AOI_KM2)
        except SpecError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data
