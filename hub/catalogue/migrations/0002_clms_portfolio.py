"""Data migration: the CLMS global land portfolio and the Sentinel-2 mosaic family.

Families and their documents are metadata only: the documents carry a kind, a title and the
product version they describe but no copy and no link (no stable public URL is known here), and
no items or data files are created. Items come later through `import_catalogue_items`.
"""

from django.db import migrations

CLMS_LICENCE = ("Copernicus data policy: free, full and open access "
                "(Delegated Regulation (EU) No 1159/2013)")
GLOBAL = "global"

# slug, name, theme, variable, resolutions, frequency, coverage, product version, description
FAMILIES = [
    ("ndvi", "Normalized Difference Vegetation Index", "vegetation", "NDVI",
     ["300 m", "1 km"], "10-daily", GLOBAL, "V2",
     "Greenness of the canopy from the red and near-infrared contrast, composited over "
     "ten-day windows; the usual starting point for crop and drought monitoring."),
    ("lai", "Leaf Area Index", "vegetation", "LAI", ["300 m", "1 km"], "10-daily", GLOBAL, "V1",
     "Half the total green leaf area per unit of ground, retrieved by a neural network "
     "from top-of-canopy reflectances."),
    ("fapar", "Fraction of Absorbed Photosynthetically Active Radiation", "vegetation", "FAPAR",
     ["300 m", "1 km"], "10-daily", GLOBAL, "V1",
     "Share of the incoming 400-700 nm radiation that green vegetation absorbs; an input "
     "to productivity and carbon models."),
    ("fcover", "Fraction of Green Vegetation Cover", "vegetation", "FCover",
     ["300 m", "1 km"], "10-daily", GLOBAL, "V1",
     "Portion of the ground seen from nadir that is covered by green vegetation."),
    ("dmp", "Dry Matter Productivity", "vegetation", "DMP / GDMP",
     ["300 m", "1 km"], "10-daily", GLOBAL, "V1",
     "Daily growth of standing biomass (dry matter, and gross dry matter for GDMP) averaged "
     "over each ten-day period, in kg per hectare per day."),
    ("burnt-area", "Burnt Area", "vegetation", "Burnt area", ["300 m"], "daily and monthly",
     GLOBAL, "V3",
     "Areas newly burnt by fire, with the date of detection, and a monthly synthesis."),
    ("swi", "Soil Water Index", "water", "Soil Water Index", ["1 km", "12.5 km"], "daily",
     "global (12.5 km), Europe (1 km)", "V3",
     "Moisture of the soil profile at several characteristic depths, propagated from "
     "satellite surface soil moisture by an infiltration model."),
    ("ssm", "Surface Soil Moisture", "water", "Surface soil moisture", ["1 km"], "daily",
     "Europe", "V1",
     "Relative water content of the top few centimetres of soil, from C-band radar "
     "backscatter."),
    ("lst", "Land Surface Temperature", "energy", "LST", ["5 km"], "hourly and 10-daily",
     GLOBAL, "V1",
     "Radiative skin temperature of the land surface from geostationary thermal "
     "observations, with ten-day diurnal-cycle statistics."),
    ("toc-reflectance", "Top-of-Canopy Reflectance", "energy", "TOC reflectance",
     ["300 m", "1 km"], "daily", GLOBAL, "V2",
     "Atmospherically corrected surface reflectances, the basis of the biophysical "
     "vegetation products."),
    ("albedo", "Surface Albedo", "energy", "Surface albedo", ["1 km"], "10-daily", GLOBAL, "V2",
     "Fraction of incoming solar radiation reflected by the surface, directional-"
     "hemispherical and bi-hemispherical, over visible, near-infrared and total bands."),
    ("water-bodies", "Water Bodies", "water", "Water bodies", ["100 m", "300 m"], "monthly",
     GLOBAL, "V2",
     "Extent of open inland water detected each month, with its seasonal occurrence."),
    ("lswt", "Lake Surface Water Temperature", "water", "LSWT", ["1 km"], "10-daily",
     "global (about a thousand lakes)", "V1",
     "Skin temperature of the water surface of large lakes from thermal infrared "
     "observations."),
    ("lwq", "Lake Water Quality", "water", "Turbidity and trophic state",
     ["100 m", "300 m", "1 km"], "10-daily", "global lakes", "V1",
     "Turbidity, trophic state index and surface reflectances of lakes; items are named "
     "like c_gls_LWQ1km_201808110000_GL."),
    ("lie", "Lake Ice Extent", "cryosphere", "Lake ice cover", ["250 m"], "daily",
     "Northern Hemisphere", "V1",
     "Whether each lake pixel is frozen, open water or cloudy, during the freezing season."),
    ("sce", "Snow Cover Extent", "cryosphere", "Snow cover", ["500 m", "1 km"], "daily",
     "Northern Hemisphere and Europe", "V1",
     "Fraction of each pixel covered by snow, from optical reflectances."),
    ("swe", "Snow Water Equivalent", "cryosphere", "Snow water equivalent", ["5 km"], "daily",
     "Northern Hemisphere", "V1",
     "Water content of the snow pack, from passive microwave observations assimilated with "
     "ground weather stations."),
    ("water-level", "Water Level", "water", "River and lake water level",
     ["virtual stations"], "near real time", "global rivers and lakes", "V2",
     "Height of rivers and lakes above a reference surface, from radar altimetry at the "
     "crossings of satellite tracks (time series per station, not gridded)."),
    ("land-cover", "Land Cover 100 m", "land-cover", "Land cover classes and cover fractions",
     ["100 m"], "yearly", GLOBAL, "V3",
     "Discrete land cover classes with per-class cover fractions and a change layer, one "
     "map per year."),
]

DOCUMENT_KINDS = [
    ("ATBD", "Algorithm Theoretical Basis Document"),
    ("PUM", "Product User Manual"),
    ("QAR", "Quality Assessment Report"),
]

MOSAIC = {
    "slug": "sentinel-2-global-mosaic",
    "name": "Sentinel-2 Global Mosaic",
    "theme": "imagery",
    "variable": "Surface reflectance (L2A bands)",
    "resolutions": ["10 m", "20 m", "60 m"],
    "temporal_frequency": "on demand (day, ten days, month, quarter, year)",
    "coverage": "any area of interest",
    "status": "on demand",
    "licence": "Contains modified Copernicus Sentinel data, free and open",
    "description": (
        "Cloud-free composites of Sentinel-2 L2A surface reflectance computed by this hub "
        "for the area, period, resolution and projection you choose, keeping per pixel the "
        "most representative real observation."
    ),
    "ordering_url": "/requests/new/",
}


def load(apps, schema_editor):
    """Create the families and their document references (skipping slugs already there)."""
    Family = apps.get_model("catalogue", "ProductFamily")
    Document = apps.get_model("catalogue", "Document")
    for slug, name, theme, variable, res, freq, coverage, version, text in FAMILIES:
        family, created = Family.objects.get_or_create(slug=slug, defaults={
            "name": name, "theme": theme, "variable": variable, "resolutions": res,
            "temporal_frequency": freq, "coverage": coverage, "status": "in production",
            "licence": CLMS_LICENCE, "description": text,
        })
        if created:
            for kind, title in DOCUMENT_KINDS:
                Document.objects.create(family=family, kind=kind, version=version,
                                        title=f"{name}: {title}")
    Family.objects.get_or_create(slug=MOSAIC["slug"], defaults=MOSAIC)


def unload(apps, schema_editor):
    """Remove the families this migration created (with their documents)."""
    Family = apps.get_model("catalogue", "ProductFamily")
    slugs = [row[0] for row in FAMILIES] + [MOSAIC["slug"]]
    Family.objects.filter(slug__in=slugs, items__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
