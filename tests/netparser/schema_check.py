#!/usr/bin/python3
"""Our architecture files validate against docs/architecture.schema.json, and files the parser
refuses for a reason the schema can express are refused by the schema too.
Usage: schema_check.py SCHEMA FILE...   (Debian python3-jsonschema)"""
import copy
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
ok = bad = 0
for path in sys.argv[2:]:
    doc = json.load(open(path))
    errors = list(validator.iter_errors(doc))
    if errors:
        print(f"FAIL: {path}: {errors[0].message}")
        bad += 1
    else:
        ok += 1
    if "layers" in doc:  # mutations the schema must catch
        for mutate, what in [(lambda d: d["layers"][0].update(type="conv3d"), "unknown type"),
                             (lambda d: d["layers"][0].update(id="input"), "reserved id"),
                             (lambda d: d.pop("input"), "no input"),
                             (lambda d: d.update(extra=1), "unknown top-level key")]:
            m = copy.deepcopy(doc)
            mutate(m)
            if validator.is_valid(m):
                print(f"FAIL: {path}: schema accepts {what}")
                bad += 1
            else:
                ok += 1
print(f"{ok} passed, {bad} failed")
sys.exit(1 if bad else 0)
