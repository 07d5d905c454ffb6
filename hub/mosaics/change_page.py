"""What a change order's product page shows: the two mosaics' quicklooks side by side, the
class map with its legend (class colours from `compositing.products.quicklook`, class centres
from the product's metadata.json), and the fitted comparison."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from compositing.products.quicklook import (
    BEFORE,
    CLASS_COLOURS,
    CLASSES,
    NO_CHANGE_COLOUR,
    TRUE_COLOUR,
    quicklook_kind,
)
from hub.mosaics.models import MosaicRequest
from hub.mosaics.product_page import ProductMetadata


@dataclass(frozen=True)
class ClassEntry:
    """One line of the class map's legend."""

    label: str
    colour: str  # CSS rgb()
    text: str


@dataclass
class ChangeView:
    """The change section of a product page."""

    before: str | None = None  # quicklook URLs
    after: str | None = None
    classes: str | None = None
    legend: list[ClassEntry] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)


def _rgb(colour: tuple[int, int, int]) -> str:
    return f"rgb({colour[0]}, {colour[1]}, {colour[2]})"


def change_view(req: MosaicRequest, metadata: ProductMetadata | None) -> ChangeView | None:
    """The change section of a change order's page; None for a mosaic."""
    if not req.spec.is_change:
        return None
    view = ChangeView()
    pngs = {quicklook_kind(f.name): f.name for f in req.files.all() if "/" not in f.name}
    for kind, attr in ((BEFORE, "before"), (TRUE_COLOUR, "after"), (CLASSES, "classes")):
        if kind in pngs:
            setattr(view, attr, reverse("api-mosaic-file", args=[req.pk, pngs[kind]]))
    change = metadata.change if metadata is not None else {}
    view.legend = [ClassEntry("no change", _rgb(NO_CHANGE_COLOUR),
                              "not significant at the ordered confidence")]
    for entry in change.get("classes") or []:
        number = int(entry["class"])
        view.legend.append(ClassEntry(
            f"class {number}", _rgb(CLASS_COLOURS[(number - 1) % len(CLASS_COLOURS)]),
            f"mean magnitude {float(entry['magnitude']):.3f} (reflectance), angle "
            f"{float(entry['angle_deg']):.0f}°"))
    if change:
        gains = ", ".join(f"{b} {g:.3f}" for b, g in zip(
            change.get("bands", []), change.get("normalisation", {}).get("gain", []),
            strict=False))
        view.facts = [
            ("Compared bands", ", ".join(change.get("bands", []))),
            ("Confidence", f"{change.get('confidence', '')} (chi-squared threshold "
                           f"{change.get('chi2_threshold', '')}, "
                           f"{change.get('chi2_degrees_of_freedom', '')} degrees of freedom)"),
            ("Normalisation gains", gains),
            ("Pixels fitted on", f"{change.get('normalisation', {}).get('sample_pixels', '')}"
                                 f" valid in both; {change.get('classes_sample_pixels', '')} "
                                 "changed"),
        ]
    return view
