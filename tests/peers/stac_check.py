"""Validates a lode run's stac/item.json with pystac, offline.

pystac checks the item against the STAC 1.1.0 core schemas it ships and each declared
extension against the schema registered for its URL (tests/fixtures/stac-schemas).
Sockets are disabled first, so a schema fetched from the network fails the check instead
of passing silently. Then every asset's href must exist beside the item with the size and
SHA-256 multihash the item gives. Prints JSON: the assets checked and the extensions.
Usage: stac_check.py item.json schemas_dir
"""
import hashlib
import json
import os
import socket
import sys


def no_network(*args, **kwargs):
    raise RuntimeError("stac_check: network access attempted (a schema was not found locally)")


socket.socket.connect = no_network
socket.create_connection = no_network

import pystac  # noqa: E402
from pystac.validation import JsonSchemaSTACValidator, set_validator  # noqa: E402

item_path, schemas = sys.argv[1:3]
validator = JsonSchemaSTACValidator()
for name in os.listdir(schemas):
    if name.endswith(".json"):
        with open(os.path.join(schemas, name)) as f:
            s = json.load(f)
        validator.schema_cache[s["$id"]] = s
set_validator(validator)

item = pystac.Item.from_file(item_path)
validated = item.validate()
base = os.path.dirname(os.path.abspath(item_path))
checked = {}
for key, asset in item.assets.items():
    path = os.path.normpath(os.path.join(base, asset.href))
    with open(path, "rb") as f:
        data = f.read()
    assert asset.extra_fields["file:size"] == len(data), (key, len(data))
    assert asset.extra_fields["file:checksum"] == "1220" + hashlib.sha256(data).hexdigest(), key
    checked[key] = os.path.basename(path)
# The validator can fail: a band of an unknown data type and a malformed shape are refused.
broken = json.loads(json.dumps(item.to_dict()))
raster_key = next(k for k, a in broken["assets"].items() if "raster:bands" in a)
broken["assets"][raster_key]["raster:bands"][0]["data_type"] = "float33"
broken["properties"]["proj:shape"] = ["rows"]
try:
    pystac.Item.from_dict(broken).validate()
    refused = False
except pystac.errors.STACValidationError:
    refused = True
assert refused, "a broken item passed validation"
print(json.dumps({"schemas": validated, "assets": checked, "extensions": item.stac_extensions}))
