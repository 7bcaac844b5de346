#!/usr/bin/python3
"""The service's answers against docs/openapi.json (Debian python3-jsonschema, Draft 2020-12).

Usage:
  openapi_check.py OPENAPI lint ROUTE...        the document itself: OpenAPI 3.1, every schema under
                                                components/schemas valid Draft 2020-12, every $ref resolves,
                                                each ROUTE ("GET /livez") described, every response with
                                                X-Request-Id (required but for 400 and 413,
                                                which may be answered before the request is read)
  openapi_check.py OPENAPI check MANIFEST       each line of MANIFEST: METHOD PATH STATUS BODY HEADERS
                                                (files: the answer's body, its header block as curl -D wrote
                                                it); PATH "-" is a route the document does not have (an
                                                unknown one): its answer must be a Problem
For each answer: the status is documented for the route, its Content-Type is one the response
declares, the body validates against that schema, the required headers are there and every declared
header present validates; a problem's "status" is the HTTP status; and a JSON object answer with
one unknown key added no longer validates (the schemas are strict where we control the shape).
Prints one FAIL line per mismatch and a summary; exit 1 on any.
"""
import json
import sys

import jsonschema


def fail(message):
    print(f"FAIL: {message}")
    return 1


def resolve(doc, pointer):
    """The object at a local JSON pointer ("#/components/schemas/X")."""
    if not pointer.startswith("#/"):
        raise KeyError(f"not a local reference: {pointer}")
    node = doc
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def validator(doc, schema):
    # the schema with the document's components beside it: "#/components/..." resolves against
    # this root with any jsonschema version (no resolver API needed)
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [schema],
            "components": doc["components"]}
    return jsonschema.Draft202012Validator(root)


def lint(doc, routes):
    bad = 0
    if not str(doc.get("openapi", "")).startswith("3.1"):
        bad += fail(f"openapi is {doc.get('openapi')!r}, not 3.1.x")
    if doc.get("jsonSchemaDialect") != "https://json-schema.org/draft/2020-12/schema":
        bad += fail("jsonSchemaDialect is not Draft 2020-12")
    for name, schema in doc["components"]["schemas"].items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            bad += fail(f"components/schemas/{name}: {e.message}")
    for r in sorted(set(refs(doc))):
        try:
            resolve(doc, r)
        except (KeyError, IndexError, ValueError) as e:
            bad += fail(f"$ref {r} does not resolve ({e})")
    for route in routes:
        method, path = route.split(" ", 1)
        op = doc["paths"].get(path, {}).get(method.lower())
        if op is None:
            bad += fail(f"{route} is not in the document")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op.get("responses", {}).items():
                response = deref(doc, response)
                declared = deref(doc, response.get("headers", {}).get("X-Request-Id", {}))
                if status not in ("400", "413") and not declared.get("required"):
                    bad += fail(f"{method.upper()} {path} {status}: no X-Request-Id header declared")
                for media in response.get("content", {}).values():
                    try:
                        validator(doc, media["schema"])  # builds
                        jsonschema.Draft202012Validator.check_schema(media["schema"])
                    except jsonschema.SchemaError as e:
                        bad += fail(f"{method.upper()} {path} {status}: {e.message}")
    return bad


def read_headers(path):
    """The last header block curl -D wrote (after any 100 Continue): {lower-case name: value}."""
    blocks, current = [], {}
    for line in open(path, encoding="latin-1").read().splitlines():
        line = line.rstrip("\r")
        if line.startswith("HTTP/"):
            current = {}
            blocks.append(current)
        elif ":" in line:
            k, v = line.split(":", 1)
            current[k.strip().lower()] = v.strip()
    return blocks[-1] if blocks else {}


def check_one(doc, method, path, status, body_file, header_file):
    where = f"{method} {path} {status} ({body_file})"
    headers = read_headers(header_file)
    media_type = headers.get("content-type", "").split(";")[0].strip()
    op = doc["paths"].get(path, {}).get(method.lower())
    if path == "-" or (op is None and path in doc["paths"]):
        # an unknown route (404, or 401 before routing), or a known one asked with another method
        # (405): the document's own responses for them
        name = {401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed"}.get(status)
        if name is None:
            return fail(f"{where}: status {status} is not one an unknown route or method answers")
        response = doc["components"]["responses"][name]
    else:
        if op is None:
            return fail(f"{where}: the route is not in the document")
        response = op["responses"].get(str(status), op["responses"].get("default"))
        if response is None:
            return fail(f"{where}: status {status} is not documented for the route")
    response = deref(doc, response)
    bad = 0
    for name, spec in response.get("headers", {}).items():
        spec = deref(doc, spec)
        value = headers.get(name.lower())
        if value is None:
            if spec.get("required"):
                bad += fail(f"{where}: the required header {name} is missing")
            continue
        if "schema" in spec:
            errors = list(validator(doc, spec["schema"]).iter_errors(value))
            if errors:
                bad += fail(f"{where}: header {name}: {value!r}: {errors[0].message}")
    content = response.get("content", {})
    if media_type not in content:
        return bad + fail(f"{where}: Content-Type {media_type!r} is not one of {sorted(content)}")
    schema = content[media_type]["schema"]
    raw = open(body_file, "rb").read()
    if not media_type.endswith("json"):
        return bad + (0 if validator(doc, schema).is_valid(raw.decode("utf-8", "replace"))
                      else fail(f"{where}: the text does not validate"))
    try:
        body = json.loads(raw)
    except ValueError as e:
        return bad + fail(f"{where}: not JSON: {e}")
    v = validator(doc, schema)
    errors = sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))
    for e in errors[:3]:
        bad += fail(f"{where}: /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    if media_type == "application/problem+json" and isinstance(body, dict) and body.get("status") != status:
        bad += fail(f"{where}: the problem's status is {body.get('status')}, the answer's {status}")
    if not errors and isinstance(body, dict):
        mutated = dict(body)
        mutated["unexpectedKey"] = 1
        if v.is_valid(mutated):
            bad += fail(f"{where}: the schema accepts an unknown top-level key (not strict)")
    return bad


def main():
    doc = json.load(open(sys.argv[1]))
    mode = sys.argv[2]
    if mode == "lint":
        bad = lint(doc, sys.argv[3:])
        print(f"openapi_check: lint: {'ok' if bad == 0 else str(bad) + ' problem(s)'}")
        return 1 if bad else 0
    if mode == "check":
        good = failed = 0
        for line in open(sys.argv[3]):
            if not line.strip():
                continue
            method, path, status, body_file, header_file = line.split()
            n = check_one(doc, method, path, int(status), body_file, header_file)
            good, failed = (good + 1, failed) if n == 0 else (good, failed + 1)
        print(f"openapi_check: {good} answers valid, {failed} not")
        return 1 if failed or good == 0 else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
