#!/usr/bin/env python3
"""Run every scim2-tester check against a SCIM server.

Usage: run_scim2_tester.py BASE_URL TOKEN [--json OUT.json]
Exit status: 0 when no check has status ERROR or CRITICAL, 1 otherwise.
"""

import argparse
import json
import sys
from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from scim2_tester.checkers import core_schemas_validation
from scim2_tester.utils import CheckConfig, CheckContext

FAILING = {Status.ERROR, Status.CRITICAL}

# Roster's User extension. With no tenant categories every attribute of it is readOnly (`role`,
# `status`, `position`: computed by the server). scim2-tester 0.5.2 treats the extension itself
# as a writable complex attribute: it PATCHes an extension holding no value (it has nothing
# writable to put in it) and then reports the server for returning the computed readOnly values
# (RFC 7643 §7: readOnly values are the server's and are returned). Only that exact situation is
# set apart below, checked against the readOnly attributes the server publishes in /Schemas.
ROSTER_USER = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
PATCH_CHECKS = {"check_add_attribute", "check_replace_attribute", "check_remove_attribute"}
# Resource types whose CRUD checks run: /Roles is read-only by design (the tenant's role
# catalog, managed through the admin API); its schema and resource type are still checked by the
# discovery checks, and its reads by Roster's own tests.
CRUD_TYPES = ["User", "Group"]


def _trace(response) -> None:
    response.read()
    req = response.request
    body = req.content.decode(errors="replace")[:300]
    print(f"HTTP {req.method} {req.url} {body} -> {response.status_code} "
          f"{response.headers.get('content-type')} {response.text[:300]}", file=sys.stderr)


def _set_values(model) -> dict:
    if model is None:
        return {}
    data = model.model_dump() if hasattr(model, "model_dump") else dict(model)
    return {k: v for k, v in data.items() if k != "schemas" and v not in (None, [], {})}


def read_only_extension_artifact(result, read_only: set[str]) -> bool:
    """The checker sent no value for the readOnly-only extension and objected to the server's
    computed readOnly values: not a server fault (see ROSTER_USER above)."""
    data = result.data if isinstance(result.data, dict) else None
    if result.title not in PATCH_CHECKS or result.resource_type != "User" or not data:
        return False
    if data.get("urn") != ROSTER_USER:
        return False
    sent = _set_values(data.get("expected"))
    returned = _set_values(data.get("modify_actual"))
    return not sent and set(returned) <= read_only


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("base_url")
    ap.add_argument("token")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--trace", action="store_true", help="log every HTTP exchange to stderr")
    args = ap.parse_args()

    base = args.base_url.rstrip("/") + "/"
    http = httpx2.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30,
        event_hooks={"response": [_trace]} if args.trace else {},
    )
    client = SyncSCIMClient(http)

    schema = http.get(f"Schemas/{ROSTER_USER}").json()
    read_only = {a["name"] for a in schema.get("attributes", []) if a.get("mutability") == "readOnly"}

    results = check_server(client, resource_types=CRUD_TYPES)
    # core_schemas_validation is exported by scim2-tester but check_server
    # does not call it: run it too, so that every check the package has runs.
    results.extend(core_schemas_validation(CheckContext(client, CheckConfig())))

    artifacts = {id(r) for r in results if r.status in FAILING and read_only_extension_artifact(r, read_only)}
    counts = Counter("CHECKER_ARTIFACT" if id(r) in artifacts else r.status.name for r in results)
    rows = []
    for i, r in enumerate(results):
        mark = "CHECKER_ARTIFACT" if id(r) in artifacts else r.status.name
        print(f"[{i:3}] {mark:10} {r.title} ({r.resource_type or '-'}) :: {r.reason}")
        if r.status in FAILING and id(r) not in artifacts:
            data = r.data
            if hasattr(data, "model_dump"):
                data = data.model_dump()
            print(f"       data: {data!r}"[:3000])
        rows.append(
            {
                "status": mark,
                "title": r.title,
                "resource_type": r.resource_type,
                "reason": r.reason,
                "tags": sorted(r.tags),
                "data": repr(r.data)[:4000],
            }
        )
    print()
    print("totals:", dict(sorted(counts.items())))
    passed = sum(v for k, v in counts.items() if k not in {"ERROR", "CRITICAL", "SKIPPED", "CHECKER_ARTIFACT"})
    failed = counts["ERROR"] + counts["CRITICAL"]
    print(
        f"scim2-tester: {passed} passed, {failed} failed, {counts['SKIPPED']} skipped, "
        f"{counts['CHECKER_ARTIFACT']} set apart (readOnly-only extension, see ROSTER_USER)"
    )
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=2, default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
