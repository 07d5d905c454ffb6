"""Data migration: the official product page of each CLMS family, and its documents linked.

Every URL below is a product page of the Copernicus Land Monitoring Service portal as the
Copernicus Browser and the Copernicus Data Space Ecosystem documentation link them (2025-2026).
A family links the page of the product's current version; its documents (ATBD, PUM, QAR),
seeded by 0002 as references without a link, link that page and take its version: the
document files are listed on the page (its Documentation section), and their own addresses are
not copied here, as they change with each issue. No file is copied.

Two families have no product page of their own that could be confirmed (Top-of-Canopy
Reflectance, Surface Albedo): they link the portal's "temperature and reflectance" page, which
lists them. Land Cover 100 m links the global dynamic land cover page, which lists every epoch.
The Sentinel-2 mosaic family is the hub's own product: it has no page elsewhere.
"""

import importlib

from django.db import migrations

PRODUCTS = "https://land.copernicus.eu/en/products"

# slug: (official page, version the page describes; None keeps the version seeded by 0002)
PRODUCT_PAGES = {
    "ndvi": (f"{PRODUCTS}/vegetation/normalised-difference-vegetation-index-v3-0-300m", "V3"),
    "lai": (f"{PRODUCTS}/vegetation/leaf-area-index-v2-0-300m", "V2"),
    "fapar": (f"{PRODUCTS}/vegetation/"
              "fraction-of-absorbed-photosynthetically-active-radiation-v2-0-300m", "V2"),
    "fcover": (f"{PRODUCTS}/vegetation/fraction-of-green-vegetation-cover-v2-0-300m", "V2"),
    "dmp": (f"{PRODUCTS}/vegetation/dry-matter-productivity-v2-0-300m", "V2"),
    "burnt-area": (f"{PRODUCTS}/vegetation/burnt-area-v3-1-daily-300m", "V3.1"),
    "swi": (f"{PRODUCTS}/soil-moisture/daily-soil-water-index-global-v3-0-12-5km", "V3"),
    "ssm": (f"{PRODUCTS}/soil-moisture/daily-surface-soil-moisture-v1.0", "V1"),
    "lst": (f"{PRODUCTS}/temperature-and-reflectance/"
            "hourly-land-surface-temperature-global-v2-0-5km", "V2"),
    "toc-reflectance": (f"{PRODUCTS}/temperature-and-reflectance", None),
    "albedo": (f"{PRODUCTS}/temperature-and-reflectance", None),
    "water-bodies": (f"{PRODUCTS}/water-bodies/water-bodies-global-v2-0-300m", "V2"),
    "lswt": (f"{PRODUCTS}/temperature-and-reflectance/"
             "lake-surface-water-temperature-near-real-time-v1-0-1km", "V1"),
    "lwq": (f"{PRODUCTS}/water-bodies/lake-water-quality-near-real-time-v2-0-300m", "V2"),
    "lie": (f"{PRODUCTS}/water-bodies/lake-ice-extent-northern-hemisphere-500m", "V1"),
    "sce": (f"{PRODUCTS}/snow/snow-cover-extent-northern-hemisphere-v1-0-1km", "V1"),
    "swe": (f"{PRODUCTS}/snow/snow-water-equivalent-v2-0-5km", "V2"),
    "water-level": (f"{PRODUCTS}/water-bodies/water-level-rivers-near-real-time-v2.0", "V2"),
    "land-cover": (f"{PRODUCTS}/global-dynamic-land-cover", None),
}


def _seeded_versions() -> dict[str, str]:
    """The document versions 0002 seeded, by family slug (what unlinking restores)."""
    seed = importlib.import_module("hub.catalogue.migrations.0002_clms_portfolio")
    return {row[0]: row[7] for row in seed.FAMILIES}


def link(apps, schema_editor):
    """Set each family's product page; link its unlinked, uncopied documents to it."""
    Family = apps.get_model("catalogue", "ProductFamily")
    Document = apps.get_model("catalogue", "Document")
    for slug, (page, version) in PRODUCT_PAGES.items():
        # A page an operator already set in the admin is theirs: kept.
        Family.objects.filter(slug=slug, product_page_url="").update(product_page_url=page)
        references = Document.objects.filter(family__slug=slug, url="", file="")
        references.update(url=page, **({"version": version} if version else {}))


def unlink(apps, schema_editor):
    """Remove the pages and document links this migration set (others are kept)."""
    Family = apps.get_model("catalogue", "ProductFamily")
    Document = apps.get_model("catalogue", "Document")
    versions = _seeded_versions()
    for slug, (page, _version) in PRODUCT_PAGES.items():
        Family.objects.filter(slug=slug, product_page_url=page).update(product_page_url="")
        Document.objects.filter(family__slug=slug, url=page).update(
            url="", version=versions.get(slug, ""))


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0003_productfamily_product_page_url")]

    operations = [migrations.RunPython(link, unlink)]
