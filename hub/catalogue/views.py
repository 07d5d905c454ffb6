"""Public pages and file downloads of the catalogue, and the zip and metalink of a selection
of items for signed-in users."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST, require_safe

from hub.catalogue import downloads, services
from hub.catalogue.forms import BrowseForm, PeriodForm
from hub.catalogue.inspire import item_xml
from hub.catalogue.models import Document, Item, ItemFile, ProductFamily
from hub.catalogue.stac import file_href, url
from hub.mosaics.downloads import StoredFile, file_response

ITEMS_PER_PAGE = 25


@require_GET
def browse(request: HttpRequest) -> HttpResponse:
    """Families by theme, filtered by theme, variable, resolution and date range."""
    form = BrowseForm(request.GET or None, families=list(ProductFamily.objects.all()))
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return render(request, "catalogue/browse.html",
                  {"form": form, "groups": services.browse(filters),
                   "dated": bool(filters.get("start") or filters.get("end"))})


@require_GET
def family(request: HttpRequest, slug: str) -> HttpResponse:
    """A family with its documents and a paginated, date-filtered table of items."""
    found = get_object_or_404(ProductFamily, slug=slug)
    form = PeriodForm(request.GET or None)
    period = form.cleaned_data if form.is_bound and form.is_valid() else {}
    items = services.family_items(found, period.get("start"), period.get("end"))
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    documents = list(found.documents.all())
    return render(request, "catalogue/family.html", {
        "family": found, "documents": documents, "form": form, "page": page,
        "query": query.urlencode(),
        "documents_on_product_page": bool(found.product_page_url) and any(
            d.url == found.product_page_url for d in documents),
    })


@require_GET
def item(request: HttpRequest, slug: str, identifier: str) -> HttpResponse:
    """An item's page: its period, footprint, metadata and files, each downloadable."""
    found = get_object_or_404(
        Item.objects.select_related("family").prefetch_related("files"),
        family__slug=slug, identifier=identifier)
    return render(request, "catalogue/item.html", services.item_page(found))


@require_GET
def item_inspire(request: HttpRequest, slug: str, identifier: str) -> HttpResponse:
    """The INSPIRE (ISO 19139) metadata record of an item (public, like the family page)."""
    found = get_object_or_404(
        Item.objects.select_related("family").prefetch_related("files", "family__documents"),
        family__slug=slug, identifier=identifier)
    response = HttpResponse(item_xml(found, lambda f: file_href(request, f)),
                            content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        False, f"{found.identifier}.inspire.xml")
    return response


@require_GET
def document(request: HttpRequest, pk: int) -> HttpResponse:
    """An uploaded document (public, like the family page that lists it)."""
    found = get_object_or_404(Document, pk=pk)
    if not found.file:
        raise Http404("this document has no uploaded copy")
    return FileResponse(found.file.open("rb"), as_attachment=False,
                        filename=found.file.name.rsplit("/", 1)[-1])


@require_safe
def item_file(request: HttpRequest, pk: int) -> HttpResponse:
    """A local item file (public, like the item: byte ranges resume it), or a redirect to
    its external URL."""
    found = get_object_or_404(ItemFile, pk=pk)
    local = found.local_file()
    if local is not None:
        return file_response(request, StoredFile(found.name, local, found.size, found.sha256))
    if found.url:
        return redirect(found.url)
    raise Http404("this file is not available")


@login_required
@require_POST
def download(request: HttpRequest, slug: str) -> HttpResponse:
    """The selected items of a family as a streamed zip or as a Metalink 4 document."""
    found = get_object_or_404(ProductFamily, slug=slug)
    files = services.selected_files(found, request.POST.getlist("item"))
    if not files:
        messages.info(request, "Select at least one item with files to download.")
        return redirect(found.get_absolute_url())
    if request.POST.get("format") == "metalink":
        body = downloads.metalink(files, lambda f: url(request, "file", f.pk))
        response = HttpResponse(body, content_type=downloads.METALINK_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{found.slug}.meta4"'
        return response
    response = StreamingHttpResponse(downloads.zip_chunks(files), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{found.slug}.zip"'
    return response
