"""Downloads: byte ranges and ETags for resume, the streamed zip, the metalink, ownership."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from email.utils import formatdate
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from django.core.cache import cache
from django.http import StreamingHttpResponse

from hub.mosaics import productzip
from hub.mosaics.downloads import RangeNotSatisfiableError, parse_range
from hub.mosaics.models import MosaicRequest, ProductFile, Status
from tests.hub.stored_requests import stored_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

ML = "{urn:ietf:params:xml:ns:metalink}"
BODY = bytes(range(256)) * 4  # 1024 distinct-enough bytes




def make_product(owner, media: Path, files: dict[str, bytes], name: str = "done",
                 folder: str = "P1", status: str = Status.DONE) -> MosaicRequest:
    """A request with real files under media/folder and their true sizes and checksums."""
    req = stored_request(owner, name, status, progress=100, product_folder=folder)
    (media / folder).mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        (media / folder / file_name).write_bytes(content)
        ProductFile.objects.create(request=req, name=file_name, path=f"{folder}/{file_name}",
                                   size=len(content), sha256=hashlib.sha256(content).hexdigest())
    return req


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get(client, url: str, token: str, **headers):
    return client.get(url, HTTP_AUTHORIZATION=f"Token {token}", **headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def product(alice, media):
    return make_product(alice, media, {"a.tif": BODY, "meta.json": b'{"x": 1}' * 50})


@pytest.fixture
def file_url(product) -> str:
    return f"/api/v1/mosaics/{product.id}/files/a.tif"


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-9", (0, 9)), ("bytes=10-", (10, 1023)), ("bytes=-24", (1000, 1023)),
    ("bytes=-5000", (0, 1023)), ("bytes=1000-99999", (1000, 1023)), ("bytes=5-5", (5, 5)),
    ("bytes=0-1,4-5", None), ("bytes=9-3", None), ("lines=1-2", None), ("bytes=x-", None),
    ("bytes=-", None),
])
def test_parse_range_reads_single_byte_ranges_and_ignores_the_rest(header, expected):
    assert parse_range(header, 1024) == expected


@pytest.mark.parametrize("header,size", [("bytes=1024-", 1024), ("bytes=-0", 1024),
                                         ("bytes=0-", 0), ("bytes=-5", 0)])
def test_parse_range_rejects_ranges_past_the_end(header, size):
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, size)


def test_a_full_download_is_streamed_with_validators(client, alice_token, file_url, media):
    response = get(client, file_url, alice_token)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert body(response) == BODY
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == "1024"
    assert response["ETag"] == f'"{sha(BODY)}"'
    assert response["X-Checksum-SHA256"] == sha(BODY)
    assert response["Content-Type"] == "image/tiff"
    assert 'filename="a.tif"' in response["Content-Disposition"]
    mtime = (media / "P1" / "a.tif").stat().st_mtime
    assert response["Last-Modified"] == formatdate(int(mtime), usegmt=True)


@pytest.mark.parametrize("header,first,last", [
    ("bytes=0-99", 0, 99), ("bytes=1000-", 1000, 1023), ("bytes=-10", 1014, 1023),
    ("bytes=1020-5000", 1020, 1023),
])
def test_a_range_gets_206_with_content_range(client, alice_token, file_url, header, first, last):
    response = get(client, file_url, alice_token, HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/1024"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == BODY[first:last + 1]


def test_an_unsatisfiable_range_gets_416_naming_the_size(client, alice_token, file_url):
    response = get(client, file_url, alice_token, HTTP_RANGE="bytes=1024-")
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "bytes=7-2", "pages=1-2"])
def test_multiple_or_invalid_ranges_get_the_whole_file(client, alice_token, file_url, header):
    response = get(client, file_url, alice_token, HTTP_RANGE=header)
    assert response.status_code == 200 and body(response) == BODY


def test_if_none_match_with_the_current_etag_gets_304(client, alice_token, file_url):
    etag = f'"{sha(BODY)}"'
    assert get(client, file_url, alice_token, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert get(client, file_url, alice_token, HTTP_IF_NONE_MATCH="*").status_code == 304
    other = get(client, file_url, alice_token, HTTP_IF_NONE_MATCH='"feed"')
    assert other.status_code == 200 and body(other) == BODY


def test_if_range_with_a_stale_etag_sends_the_whole_file(client, alice_token, file_url):
    stale = get(client, file_url, alice_token, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')
    assert stale.status_code == 200 and body(stale) == BODY
    fresh = get(client, file_url, alice_token, HTTP_RANGE="bytes=0-9",
                HTTP_IF_RANGE=f'"{sha(BODY)}"')
    assert fresh.status_code == 206 and body(fresh) == BODY[:10]
    weak = get(client, file_url, alice_token, HTTP_RANGE="bytes=0-9",
               HTTP_IF_RANGE=f'W/"{sha(BODY)}"')
    assert weak.status_code == 200


def test_if_range_with_the_last_modified_date_keeps_the_range(client, alice_token, file_url):
    last_modified = get(client, file_url, alice_token)["Last-Modified"]
    response = get(client, file_url, alice_token, HTTP_RANGE="bytes=0-9",
                   HTTP_IF_RANGE=last_modified)
    assert response.status_code == 206
    stale = get(client, file_url, alice_token, HTTP_RANGE="bytes=0-9",
                HTTP_IF_RANGE="Mon, 01 Jan 2001 00:00:00 GMT")
    assert stale.status_code == 200


def test_head_gives_the_headers_without_the_body(client, alice_token, file_url):
    response = client.head(file_url, HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert response.status_code == 200
    assert response["Content-Length"] == "1024" and response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{sha(BODY)}"'
    assert response.content == b""
    ranged = client.head(file_url, HTTP_AUTHORIZATION=f"Token {alice_token}",
                         HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206 and ranged["Content-Length"] == "10"


def test_a_large_file_is_sent_in_chunks(client, alice, alice_token, media):
    big = os.urandom(3 * 1024 * 1024 + 7)
    req = make_product(alice, media, {"big.tif": big}, folder="BIG")
    response = get(client, f"/api/v1/mosaics/{req.id}/files/big.tif", alice_token)
    chunks = list(response.streaming_content)
    assert len(chunks) == 4 and max(map(len, chunks)) == 1024 * 1024
    assert b"".join(chunks) == big


def test_a_file_gone_from_disk_gets_410(client, alice_token, product, media):
    (media / "P1" / "a.tif").unlink()
    response = get(client, f"/api/v1/mosaics/{product.id}/files/a.tif", alice_token)
    assert response.status_code == 410 and response.json()["error"]
    assert get(client, f"/api/v1/mosaics/{product.id}/zip", alice_token).status_code == 410


def test_the_zip_holds_every_file_and_is_streamed(client, alice_token, product):
    response = get(client, f"/api/v1/mosaics/{product.id}/zip", alice_token)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert 'filename="P1.zip"' in response["Content-Disposition"]
    data = body(response)
    assert response["Content-Length"] == str(len(data))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == ["P1/a.tif", "P1/meta.json"]
    assert archive.read("P1/a.tif") == BODY
    assert archive.read("P1/meta.json") == b'{"x": 1}' * 50
    # Stored as they are: the layout then follows from names and sizes, for byte ranges.
    assert archive.getinfo("P1/a.tif").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("P1/meta.json").compress_type == zipfile.ZIP_STORED


def test_a_zip_download_resumes_where_it_stopped(client, alice, alice_token, media):
    files = {"B02.tif": os.urandom(700_000), "metadata.json": b'{"a": 1}' * 1000,
             "B04.tif": os.urandom(1_500_000), "empty.txt": b""}
    req = make_product(alice, media, files, folder="RES")
    url = f"/api/v1/mosaics/{req.id}/zip"
    whole = get(client, url, alice_token)
    full = body(whole)
    assert whole.status_code == 200 and int(whole["Content-Length"]) == len(full)
    assert body(get(client, url, alice_token)) == full  # the same bytes every time
    assert get(client, url, alice_token)["ETag"] == whole["ETag"]
    # A prefix, then the rest from inside a member, a data descriptor and the directory.
    directory = full.rindex(b"PK\x01\x02", 0, full.index(b"PK\x05\x06"))
    for cut in (1, 30, 900_000, full.index(b"PK\x07\x08") + 3, directory + 5, len(full) - 1):
        prefix = body(get(client, url, alice_token, HTTP_RANGE=f"bytes=0-{cut - 1}"))
        rest = get(client, url, alice_token, HTTP_RANGE=f"bytes={cut}-",
                   HTTP_IF_RANGE=whole["ETag"])
        assert rest.status_code == 206
        assert rest["Content-Range"] == f"bytes {cut}-{len(full) - 1}/{len(full)}"
        assert prefix + body(rest) == full, cut
    archive = zipfile.ZipFile(io.BytesIO(full))
    assert archive.testzip() is None
    assert {n: archive.read(n) for n in archive.namelist()} == {
        f"RES/{n}": c for n, c in files.items()}
    # A middle range, a suffix range, and a range past the end.
    middle = get(client, url, alice_token, HTTP_RANGE="bytes=1000-1999")
    assert middle.status_code == 206 and body(middle) == full[1000:2000]
    assert body(get(client, url, alice_token, HTTP_RANGE="bytes=-100")) == full[-100:]
    beyond = get(client, url, alice_token, HTTP_RANGE=f"bytes={len(full)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(full)}"


def test_a_zip_resume_against_a_changed_product_gets_the_whole_zip(client, alice, alice_token,
                                                                   media):
    req = make_product(alice, media, {"a.tif": BODY}, folder="CH")
    url = f"/api/v1/mosaics/{req.id}/zip"
    old_etag = get(client, url, alice_token)["ETag"]
    (media / "CH" / "a.tif").write_bytes(BODY * 2)
    ProductFile.objects.filter(request=req).update(size=len(BODY) * 2, sha256=sha(BODY * 2))
    response = get(client, url, alice_token, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=old_etag)
    assert response.status_code == 200 and response["ETag"] != old_etag
    assert zipfile.ZipFile(io.BytesIO(body(response))).read("CH/a.tif") == BODY * 2


def test_a_resumed_zip_does_not_read_again_the_members_it_sent(client, alice, alice_token,
                                                               media):
    files = {"a.tif": os.urandom(1_500_000), "b.tif": os.urandom(1_500_000)}
    req = make_product(alice, media, files, folder="CRC")
    url = f"/api/v1/mosaics/{req.id}/zip"
    cache.clear()
    full = body(get(client, url, alice_token))
    cache.clear()
    # The client goes away after a.tif and part of b.tif...
    response = get(client, url, alice_token)
    pieces = iter(response.streaming_content)
    sent = next(pieces) + next(pieces)
    response.close()
    assert len(files["a.tif"]) < len(sent) < len(full) - 1000  # inside b.tif
    # ...and a.tif is not read again when it resumes: a change on disk that keeps size and
    # date does not reach the central directory (its CRC is the one found when it was sent).
    path = media / "CRC" / "a.tif"
    stat = path.stat()
    path.write_bytes(os.urandom(len(files["a.tif"])))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    rest = get(client, url, alice_token, HTTP_RANGE=f"bytes={len(sent)}-")
    assert rest.status_code == 206 and sent + body(rest) == full


def test_head_of_the_zip_gives_its_length_without_reading_the_files(client, alice,
                                                                     alice_token, media):
    req = make_product(alice, media, {"a.tif": BODY, "b.json": b"{}"}, folder="HD")
    url = f"/api/v1/mosaics/{req.id}/zip"
    head = client.head(url, HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert head.status_code == 200 and head["Accept-Ranges"] == "bytes"
    assert int(head["Content-Length"]) == len(body(get(client, url, alice_token)))


def test_the_zip_of_a_large_product_is_yielded_piece_by_piece(client, alice, alice_token, media):
    files = {f"band{i}.tif": os.urandom(1024 * 1024 + i) for i in range(3)}
    req = make_product(alice, media, files, folder="BIG")
    response = get(client, f"/api/v1/mosaics/{req.id}/zip", alice_token)
    pieces = list(response.streaming_content)
    assert len(pieces) > 3 and max(map(len, pieces)) < 2 * 1024 * 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert {n: archive.read(n) for n in archive.namelist()} == {
        f"BIG/{n}": c for n, c in files.items()}


@pytest.mark.skipif(shutil.which("unzip") is None, reason="needs the unzip binary")
def test_the_zip_passes_unzip_t(client, alice_token, product, tmp_path):
    target = tmp_path / "all.zip"
    target.write_bytes(body(get(client, f"/api/v1/mosaics/{product.id}/zip", alice_token)))
    result = subprocess.run(["unzip", "-t", str(target)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("what", ["zip", "metalink"])
def test_an_unfinished_product_cannot_be_bundled(client, alice, alice_token, media, what):
    req = make_product(alice, media, {}, status=Status.RUNNING)
    response = get(client, f"/api/v1/mosaics/{req.id}/{what}", alice_token)
    assert response.status_code == 409 and response.json()["error"]


def test_the_metalink_lists_size_hash_and_absolute_url(client, alice_token, product):
    response = get(client, f"/api/v1/mosaics/{product.id}/metalink", alice_token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/metalink4+xml"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ML}metalink"
    entries = {f.get("name"): f for f in root.findall(f"{ML}file")}
    assert set(entries) == {"P1/a.tif", "P1/meta.json"}
    entry = entries["P1/a.tif"]
    assert entry.findtext(f"{ML}size") == "1024"
    hash_element = entry.find(f"{ML}hash")
    assert hash_element is not None and hash_element.get("type") == "sha-256"
    assert hash_element.text == sha(BODY)
    url = entry.findtext(f"{ML}url")
    assert url == f"http://testserver/api/v1/mosaics/{product.id}/files/a.tif"
    assert body(get(client, url, alice_token)) == BODY


@pytest.mark.parametrize("suffix", ["files/a.tif", "zip", "metalink"])
def test_bob_gets_404_and_anonymous_401(client, bob, product, suffix):
    url = f"/api/v1/mosaics/{product.id}/{suffix}"
    anonymous = client.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"]
    client.force_login(bob)
    assert client.get(url).status_code == 404
    assert client.head(url).status_code in (404, 405)


def test_the_owner_downloads_with_a_session_too(client, alice, product):
    client.force_login(alice)
    assert body(client.get(f"/api/v1/mosaics/{product.id}/files/a.tif")) == BODY


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_curl_resumes_an_interrupted_download(live_server, alice, alice_token, media,
                                              tmp_path):
    content = os.urandom(2 * 1024 * 1024 + 123)
    req = make_product(alice, media, {"big.tif": content}, folder="LIVE")
    url = f"{live_server.url}/api/v1/mosaics/{req.id}/files/big.tif"
    target = tmp_path / "big.tif"
    auth = ["-H", f"Authorization: Token {alice_token}"]
    half = len(content) // 2
    first = subprocess.run(["curl", "-sSf", *auth, "-r", f"0-{half - 1}", "-o", str(target),
                            url], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert target.stat().st_size == half
    resumed = subprocess.run(["curl", "-sSf", *auth, "-C", "-", "-o", str(target),
                              "-w", "%{http_code}", url],
                             capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "206"
    assert sha(target.read_bytes()) == sha(content)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_curl_resumes_an_interrupted_zip_download(live_server, alice, alice_token, media,
                                                  tmp_path):
    files = {"a.tif": os.urandom(1024 * 1024 + 17), "b.json": b'{"b": 2}' * 999}
    req = make_product(alice, media, files, folder="LIVEZ")
    url = f"{live_server.url}/api/v1/mosaics/{req.id}/zip"
    auth = ["-H", f"Authorization: Token {alice_token}"]
    target = tmp_path / "all.zip"
    first = subprocess.run(["curl", "-sSf", *auth, "-r", "0-500000", "-o", str(target), url],
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert target.stat().st_size == 500_001
    resumed = subprocess.run(["curl", "-sSf", *auth, "-C", "-", "-o", str(target),
                              "-w", "%{http_code}", url],
                             capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "206"
    archive = zipfile.ZipFile(target)
    assert archive.testzip() is None
    assert {n: archive.read(n) for n in archive.namelist()} == {
        f"LIVEZ/{n}": c for n, c in files.items()}


def test_members_past_the_zip64_limit_get_zip64_records(client, alice, alice_token, media,
                                                        monkeypatch):
    monkeypatch.setattr(productzip, "ZIP64_LIMIT", 100_000)  # stands in for 2 GiB
    content, small = os.urandom(300_000), os.urandom(1000)
    req = make_product(alice, media, {"big.tif": content, "small.json": small}, folder="Z64")
    url = f"/api/v1/mosaics/{req.id}/zip"
    data = body(get(client, url, alice_token))
    # Offsets past the limit too: the small member's and the central directory's.
    rest = body(get(client, url, alice_token, HTTP_RANGE="bytes=200000-"))
    monkeypatch.undo()
    assert data[:200_000] + rest == data
    local_header_extra = data[30 + len("Z64/big.tif"):][:4]
    assert local_header_extra[:2] == b"\x01\x00"  # the zip64 extended-information field
    assert b"PK\x06\x06" in data[-200:]  # the zip64 end of central directory record
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None and archive.read("Z64/big.tif") == content
    assert archive.read("Z64/small.json") == small
