"""Send N hostile SCIM requests to a running `roster serve` and sample its RSS as it goes.

Usage: python3 benches/hostile_rss.py HOST PORT /scim/v2/<connection> <token> <server pid> N

Requests (fixed seed): filters with NUL and 5,000-character literals, POSTs of users with NUL,
overlong and odd Unicode values, PATCHes with random ops/paths/values, groups with bogus members,
Bulk requests, malformed JSON, wrong content types and charsets. Prints VmRSS/VmHWM every 2,000
requests, then the status counts and how many were 5xx (must be 0). See benches/README.md.
"""
import http.client, json, random, sys, urllib.parse

host, port, base, token, pid, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
rng = random.Random(7)
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            yield line.split()[1]
def s():
    k = rng.randrange(8)
    if k == 0: return "a\x00b"
    if k == 1: return "x" * rng.randrange(100, 5000)
    if k == 2: return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 60)))
    if k == 3: return rng.choice(["", "%00", "..", "😀", "İ", "null", "true", "-1", "((((a pr))))", "not ("])
    if k == 4: return "u%d@example.com" % rng.randrange(10**9)
    if k == 5: return "é" * rng.randrange(1000, 4000)
    return "v%d" % rng.randrange(10**6)
def val(d=0):
    k = rng.randrange(7 if d < 3 else 4)
    if k == 0: return None
    if k == 1: return rng.choice([True, False, 0, -1, 1e308, "False"])
    if k in (2, 3): return s()
    if k == 4: return [val(d + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["userName", "displayName", "title", "nickName", "emails", "value", "members", "op", "path", "externalId", "active", s()]): val(d + 1) for _ in range(rng.randrange(5))}
conn = http.client.HTTPConnection(host, port, timeout=30)
statuses = {}
ids = []
for i in range(n):
    k = rng.randrange(9)
    headers = {"Authorization": "Bearer " + token, "Content-Type": rng.choice(["application/scim+json", "application/json", "application/scim+json; charset=utf-16", "text/plain"])}
    body = None
    if k == 0:
        method, path = "GET", "/Users?" + urllib.parse.urlencode({"filter": rng.choice(["userName eq \"%s\"" % s(), "%s pr" % s(), s(), "emails[type eq \"%s\"].value co \"@\"" % s()]), "count": rng.choice(["1", "-5", "100000", s()])})
    elif k == 1:
        method, path = "POST", "/Users"
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": s(), "title": s(), "nickName": s(), "externalId": s(), "emails": [{"value": s(), "type": "work"}]}
        if rng.random() < 0.3: body[s()] = val()
    elif k == 2:
        method, path = "PATCH", "/Users/%s" % (rng.choice(ids) if ids and rng.random() < 0.8 else s())
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": rng.choice(["Replace", "add", "remove", s()]), "path": rng.choice(["title", "active", "name.givenName", "emails[type eq \"work\"].value", s()]), "value": val()} for _ in range(rng.randrange(1, 4))]}
    elif k == 3:
        method, path = "POST", "/Groups"
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": s(), "members": [{"value": rng.choice(ids) if ids else s()} for _ in range(rng.randrange(3))]}
    elif k == 4:
        method, path = "POST", "/Bulk"
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [{"method": "POST", "path": "/Users", "bulkId": s(), "data": {"userName": s()}} for _ in range(rng.randrange(1, 20))]}
    elif k == 5:
        method, path = "GET", "/Users/" + urllib.parse.quote(s(), safe="")
    elif k == 6:
        method, path = "PUT", "/Users/%s" % (rng.choice(ids) if ids else s())
        body = val()
    elif k == 7:
        method, path = rng.choice(["GET", "DELETE"]), "/Groups/" + urllib.parse.quote(s(), safe="")
    else:
        method, path = "POST", "/Users"
        raw = rng.choice([b"{", b"\x00\x00", b"[1,2", json.dumps({"userName": s()}).encode()[: rng.randrange(1, 40)]])
        body = raw
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(method, base + path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
    except Exception as e:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        statuses["conn-error"] = statuses.get("conn-error", 0) + 1
        continue
    statuses[r.status] = statuses.get(r.status, 0) + 1
    if r.status == 201 and method == "POST" and path == "/Users":
        try: ids.append(json.loads(payload)["id"])
        except Exception: pass
    if (i + 1) % 2000 == 0:
        print(i + 1, "requests; RSS/HWM kB:", list(rss()), flush=True)
print("statuses:", dict(sorted(statuses.items(), key=lambda kv: str(kv[0]))))
print("5xx:", sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500))
