"""Documents sent during a session: upload, list, download (HTTP).

- `POST /api/sessions/{id}/documents` (multipart, one part named `file`) by the
  caller (Bearer call token of that session) or the session's specialist;
  the session must be live. Answers 201 with the Document and tells both
  participants with S→C `document:shared`.
- `GET /api/sessions/{id}/documents`: `{"items": [Document]}` for the caller,
  the session's specialist or an administrator.
- `GET /api/documents/{id}`: the file (attachment; `?inline=1` for images), for
  the same people.

Rules (types, sizes, counts) live in `store/documents.py` and the session engine.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .. import keys
from ..errors import ApiError
from ..store.documents import MAX_DOCUMENT_BYTES, DocumentRefused
from .params import bearer_token, staff

_CHUNK = 64 * 1024


async def _who(request: web.Request, session_id: str, *, admin_ok: bool) -> str:
    """`caller`, `specialist` or `admin` for this session; 401/403/404/409 otherwise.

    The parties may act only while the session is live: the caller (its call token), and the
    specialist who answered it — not one it merely rings — and one invited into its call (issue 13).
    Administrators may read any time.
    After a transfer, the parties of the live session that continues it act for it too."""
    token = bearer_token(request)
    if token is None:
        raise ApiError("unauthorized", "a call token or a staff token is required", 401)
    live = request.app[keys.ENGINE].incall.continuing(session_id)
    call_id = request.app[keys.TOKENS].verify_call_token(token)
    if call_id is not None:
        if call_id != session_id and (live is None or call_id != live.id):
            raise ApiError("forbidden", "this call token is for another session", 403)
        if live is None:
            raise ApiError("not_live", "the session has ended: its documents are no longer shared with you", 409)
        return "caller"
    ident = staff(request)
    if ident is None:
        raise ApiError("unauthorized", "the token is invalid or has expired", 401)
    if ident.role == "admin" and admin_ok:
        if live is None and await request.app[keys.ENGINE].incall.documents.session_owner(session_id) is None:
            raise ApiError("not_found", "no session with this id", 404)
        return "admin"
    if ident.role == "specialist" and live is not None and live.has_specialist(ident.account_id):
        return "specialist"
    raise ApiError("forbidden", "only the parties answering a live session may do this", 403)


async def upload(request: web.Request) -> web.Response:
    session_id = request.match_info["id"]
    sender = await _who(request, session_id, admin_ok=False)
    if request.content_length is not None and request.content_length > MAX_DOCUMENT_BYTES + 64 * 1024:
        raise ApiError("too_large", f"a document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", 413)
    if not request.content_type.startswith("multipart/"):
        raise ApiError("bad_request", "send the file as multipart/form-data in a part named 'file'", 400)
    try:
        filename, data = await _file_part(request)
    except (ValueError, AssertionError, HttpProcessingError) as exc:  # a NUL in a part header: BadHttpMessage
        raise ApiError("bad_request", f"unreadable multipart body: {str(exc)[:200]}", 400) from None
    try:
        doc = await request.app[keys.ENGINE].share_document(session_id, sender, filename, data)
    except DocumentRefused as exc:
        raise ApiError(exc.code, exc.message, exc.status) from None
    return web.json_response(doc, status=201)


async def _file_part(request: web.Request) -> tuple[str, bytes]:
    """The name and bytes of the part named `file`, read in chunks up to the size limit."""
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and getattr(part, "name", None) != "file":
        part = await reader.next()
    if part is None or not getattr(part, "filename", None):
        raise ApiError("missing_field", "a part named 'file' with a file name is required", 400)
    data = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        data += chunk
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError("too_large", f"a document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", 413)
    return part.filename, bytes(data)


async def list_documents(request: web.Request) -> web.Response:
    session_id = request.match_info["id"]
    await _who(request, session_id, admin_ok=True)
    return web.json_response({"items": await request.app[keys.ENGINE].incall.documents_of(session_id)})


async def download(request: web.Request) -> web.Response:
    documents = request.app[keys.ENGINE].incall.documents
    found = await documents.get(request.match_info["doc_id"])
    if found is None:
        # Same answer whether or not the caller may know it exists.
        raise ApiError("not_found", "no document with this id", 404)
    doc, content = found
    await _who(request, doc["session_id"], admin_ok=True)
    inline = request.query.get("inline") == "1" and doc["content_type"].startswith("image/")
    disposition = "inline" if inline else "attachment"
    ascii_name = doc["name"].encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return web.Response(
        body=content,
        headers={
            "Content-Type": doc["content_type"],
            "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc['name'])}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


def setup_document_routes(app: web.Application) -> None:
    app.router.add_post("/api/sessions/{id}/documents", upload)
    app.router.add_get("/api/sessions/{id}/documents", list_documents)
    app.router.add_get("/api/documents/{doc_id}", download)
