"""Case 15: oversized bodies and too many parts, against the real server (`uvicorn api.main:app`).

tests/test_api_bad_input.py streams a chunked body at POST /v1/jobs. This suite covers the other
upload routes and the multipart parser, on one uvicorn process whose memory is watched:

- a chunked upload without Content-Length (512 MiB offered) to the dataset upload and to the
  fine-tune route gets its 413 after about the route's limit, the connection is closed, and the
  server's RSS stays flat;
- a declared Content-Length over the limit is refused before a byte of the body is sent;
- multipart forms with 10,000 fields, 50 files, or a 2 MiB text field get a 400 that says why,
  never a 500; a multipart body sent to a JSON route is a 415. No dataset is stored by any.

The dataset limit is lowered to 4 MB (MAX_DATASET_BYTES) so the streaming cases stay short.
"""

from __future__ import annotations

import select as io_select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from store import session_scope
from store.models import Dataset
from tests.api_fixtures import make_tenants
from tests.conftest import REDIS_TEST_URL, migrate
from tests.security.servers import Uvicorn

DATASET_LIMIT = 4_000_000
BOUNDARY = "sectestboundary"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Uvicorn, str, str]]:
    tmp = tmp_path_factory.mktemp("case15")
    url = f"sqlite:///{tmp / 'jobs.db'}"
    migrate(url)
    keys, _ = make_tenants(url)
    env = {"DATABASE_URL": url, "REDIS_URL": REDIS_TEST_URL, "VAR_DIR": str(tmp / "var"),
           "MAX_DATASET_BYTES": str(DATASET_LIMIT)}
    with Uvicorn(env, tmp / "uvicorn.log") as uvicorn:
        yield uvicorn, keys["a"], url


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


def stream_chunked(port: int, path: str, key: str, content_type: str, head: bytes,
                   total: int) -> tuple[int, bytes]:
    """Send a chunked POST (`head`, then up to `total` bytes) until the server answers;
    (bytes sent, answer)."""
    chunk, sent = b"x" * 65536, len(head)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n"
                     f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        try:
            while sent < total and not io_select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return sent, read_answer(sock)


def read_answer(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while data := sock.recv(65536):
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


FILE_HEAD = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
             f"filename=\"d.zip\"\r\nContent-Type: application/zip\r\n\r\n").encode()


@pytest.mark.parametrize(("path", "content_type", "head", "limit"), [
    ("/v1/datasets", f"multipart/form-data; boundary={BOUNDARY}", FILE_HEAD, DATASET_LIMIT),
    ("/v1/finetunes", "application/json", b'{"name": "', 1_000_000),
], ids=["dataset-upload", "finetune-json"])
def test_chunked_upload_without_content_length_is_a_413_early_with_rss_flat(
    server: tuple[Uvicorn, str, str], path: str, content_type: str, head: bytes, limit: int,
) -> None:
    uvicorn, key, _ = server
    before = rss_kib(uvicorn.proc.pid)
    sent, answer = stream_chunked(uvicorn.port, path, key, content_type, head,
                                  total=512 * 2**20)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"connection: close" in answer.lower()
    message = f'"message":"the request body is larger than the limit of {limit} bytes"'
    assert message.encode() in answer
    assert sent < limit + 32 * 2**20  # stopped long before the 512 MiB offered
    assert rss_kib(uvicorn.proc.pid) - before < 50 * 1024


def test_a_declared_content_length_over_the_limit_is_refused_before_the_body(
    server: tuple[Uvicorn, str, str],
) -> None:
    uvicorn, key, _ = server
    with socket.create_connection(("127.0.0.1", uvicorn.port), timeout=10) as sock:
        sock.sendall(f"POST /v1/datasets HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n"
                     f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                     f"Content-Length: {10 * 2**30}\r\n\r\n".encode())
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413") and b'"code":"body_too_large"' in answer


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body of (field name, file name or None, content) parts."""
    out = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
                   + content + b"\r\n")
    return b"".join(out) + f"--{BOUNDARY}--\r\n".encode()


FORMS = {
    "10000 fields": ([(f"f{i}", None, b"v") for i in range(10_000)], 400,
                     "Too many fields. Maximum number of fields is 2."),
    "50 files": ([("file", f"d{i}.zip", b"PK") for i in range(50)], 400,
                 "Too many files. Maximum number of files is 1."),
    "a 2 MiB text field": ([("name", None, b"n" * (2 * 2**20))], 400,
                           "Part exceeded maximum size of 1024KB."),
}


@pytest.mark.parametrize("case", list(FORMS), ids=list(FORMS))
def test_too_many_fields_files_or_a_huge_field_is_a_400_never_a_500(
    server: tuple[Uvicorn, str, str], case: str,
) -> None:
    uvicorn, key, url = server
    parts, status, message = FORMS[case]
    before = rss_kib(uvicorn.proc.pid)
    response = httpx.post(f"{uvicorn.url}/v1/datasets", content=multipart(parts), timeout=30,
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == status, response.text
    assert response.json()["error"] == {"code": "bad_request", "message": message}
    assert rss_kib(uvicorn.proc.pid) - before < 50 * 1024
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 0


def test_a_multipart_body_on_a_json_route_is_a_415(server: tuple[Uvicorn, str, str]) -> None:
    uvicorn, key, _ = server
    body = multipart([(f"f{i}", None, b"v") for i in range(10_000)])
    for path in ("/v1/jobs", "/v1/finetunes"):
        response = httpx.post(f"{uvicorn.url}{path}", content=body, timeout=30, headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        assert response.status_code == 415, (path, response.text)
        assert response.json()["error"]["code"] == "unsupported_media_type"
