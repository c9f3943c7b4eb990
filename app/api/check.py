"""POST /api/v1/check: a go.mod (and go.sum) judged against Depot, as JSON (the page
``/check`` shows the same)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Response, jsonify, request, url_for

from app.api.shapes import CheckEntryJSON, CheckJSON, CheckModuleJSON, CheckSumJSON
from app.catalog.check import LIMITS, CheckInputError, CheckResult, Entry, Key, SumResult
from app.errors import BadRequest, TooLarge
from app.inputs import BodyError, json_object
from app.services.check import check_gomod
from app.wiring import depot

SHAPE = '{"go_mod": "module example.com/m\\n…", "go_sum": "…" (optional)}'
HINT = f"send JSON: {SHAPE}; limits: {LIMITS.text()}"


def _url(path: str, version: str) -> str:
    return url_for("portal.module_page", target=f"{path}@{version}", _external=True)


def _module(key: Key) -> CheckModuleJSON:
    return {"module": key[0], "version": key[1]}


def _entry(e: Entry) -> CheckEntryJSON:
    return {
        "module": e.path, "version": e.version, "direct": e.direct, "indirect": e.indirect,
        "required": e.required, "via": f"{e.via[0]}@{e.via[1]}" if e.via else None,
        "status": e.status, "reason": e.reason, "requested": e.requested,
        "requirements_unknown": e.requirements_unknown,
        "replacement": e.replacement or None, "url": _url(e.path, e.version),
    }


def _sum(s: SumResult) -> CheckSumJSON:
    return {"module": s.path, "version": s.version, "kind": s.kind, "line": s.line,
            "hash": s.hash, "depot_hash": s.depot_hash, "status": s.status,
            "reason": s.reason}


def check_json(result: CheckResult) -> CheckJSON:
    counts = {**result.counts, "mismatch": len(result.mismatches)}
    limits = asdict(result.limits)
    return {
        "module": result.module, "go": result.go, "toolchain": result.toolchain,
        "pruned": result.main_pruned, "mismatch": bool(result.mismatches),
        "complete": result.complete, "counts": counts,
        "entries": [_entry(e) for e in result.entries],
        "go_sum": {"lines": [_sum(s) for s in result.sums], "counts": result.sum_counts},
        "excluded": [_module(k) for k in result.excluded],
        "incomplete": [_module(k) for k in result.unknown],
        "local": [_module(k) for k in result.local],
        "nodes_walked": result.walked, "truncated": result.truncated,
        "to_request": len(result.to_request),
        "limits": {"go_mod_bytes": limits["go_mod_bytes"],
                   "go_sum_bytes": limits["go_sum_bytes"],
                   "requirements": limits["requirements"],
                   "go_sum_lines": limits["go_sum_lines"], "nodes": limits["nodes"],
                   "body_bytes": limits["body_bytes"]},
    }


def too_large_body() -> TooLarge | None:
    """A body over the check's own limit, refused before it is read (the route raises
    the lower app-wide limit to this one first)."""
    size = request.content_length
    if size is not None and size > LIMITS.body_bytes:
        return TooLarge(f"request body is {size:,} bytes, over the limit of "
                        f"{LIMITS.body_bytes // 1024} KiB (limits: {LIMITS.text()})")
    return None


def create_check() -> Response:
    request.max_content_length = LIMITS.body_bytes
    if (refused := too_large_body()) is not None:
        raise refused
    try:
        body = json_object(request, HINT)
    except BodyError as exc:
        raise BadRequest(str(exc)) from None
    go_mod, go_sum = body.get("go_mod"), body.get("go_sum")
    if not isinstance(go_mod, str):
        raise BadRequest(f'"go_mod" is required, the go.mod as a string: {SHAPE}')
    if go_sum is not None and not isinstance(go_sum, str):
        raise BadRequest(f'"go_sum" must be the go.sum as a string: {SHAPE}')
    try:
        result = check_gomod(depot(), go_mod, go_sum or "")
    except CheckInputError as exc:
        if exc.status == 413:
            raise TooLarge(str(exc)) from None
        raise BadRequest(str(exc)) from None
    resp = jsonify(check_json(result))
    resp.cache_control.no_store = True
    return resp
