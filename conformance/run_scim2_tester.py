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


def _trace(response) -> None:
    response.read()
    req = response.request
    body = req.content.decode(errors="replace")[:300]
    print(f"HTTP {req.method} {req.url} {body} -> {response.status_code} "
          f"{response.headers.get('content-type')} {response.text[:300]}", file=sys.stderr)


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

    results = check_server(client)
    # core_schemas_validation is exported by scim2-tester but check_server
    # does not call it: run it too, so that every check the package has runs.
    results.extend(core_schemas_validation(CheckContext(client, CheckConfig())))

    counts = Counter(r.status.name for r in results)
    rows = []
    for i, r in enumerate(results):
        mark = r.status.name
        print(f"[{i:3}] {mark:10} {r.title} ({r.resource_type or '-'}) :: {r.reason}")
        if r.status in FAILING:
            data = r.data
            if hasattr(data, "model_dump"):
                data = data.model_dump()
            print(f"       data: {data!r}"[:3000])
        rows.append(
            {
                "status": r.status.name,
                "title": r.title,
                "resource_type": r.resource_type,
                "reason": r.reason,
                "tags": sorted(r.tags),
                "data": repr(r.data)[:4000],
            }
        )
    print()
    print("totals:", dict(sorted(counts.items())))
    passed = sum(v for k, v in counts.items() if k not in {"ERROR", "CRITICAL", "SKIPPED"})
    failed = counts["ERROR"] + counts["CRITICAL"]
    print(f"scim2-tester: {passed} passed, {failed} failed, {counts['SKIPPED']} skipped")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=2, default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
