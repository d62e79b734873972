#!/usr/bin/env python3
"""Validate rendered custom resources against vendored CustomResourceDefinition schemas, offline.

kubernetes-validate knows only the built-in kinds. This script takes the documents of a rendered
manifest whose apiVersion and kind are served by a CRD under deploy/schemas/ (the official
prometheus-operator CRDs, see deploy/schemas/README.md), validates each one against that CRD's
openAPIV3Schema with `jsonschema`, and writes every other document to --rest for
kubernetes-validate. deploy/check.sh adds both counts up and requires them to equal the number of
documents rendered, so a custom resource with no vendored schema still fails there (as an unknown
kind) instead of passing unvalidated.

The CRD schema is turned into a JSON Schema the way the API server treats it with strict field
validation (`kubectl apply`'s default since Kubernetes 1.27), as far as these CRDs need:
  - an object schema without `x-kubernetes-preserve-unknown-fields: true` and without
    `additionalProperties` admits only the properties it lists (the API server would prune any
    other field, and strict field validation rejects it instead): additionalProperties false;
  - `nullable: true` admits null; `x-kubernetes-int-or-string` is already an anyOf in these CRDs;
  - `x-kubernetes-list-type: set` items must be unique, `map` items unique by their
    `x-kubernetes-list-map-keys`;
  - `metadata` is checked against the Kubernetes 1.30 ObjectMeta schema that kubernetes-validate
    ships (strict), and must carry a name;
  - a Go (RE2) pattern starting `^(?i)` is rewritten `(?i)^` for Python's re.
Not checked: `format` (int32, int64, date-time) and CEL rules (`x-kubernetes-validations`; the
vendored CRDs have none; a CRD that has some makes this script fail rather than skip them).

Usage: crd-validate.py [--schemas DIR] [--rest OUT] FILE
Prints `VALID <kind> <namespace/name> (<apiVersion>, <crd file>)` per validated document and the
errors of each invalid one; exits 1 if any document is invalid.
"""

from __future__ import annotations

import argparse
import copy
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import referencing
import referencing.jsonschema
import yaml

SCHEMAS = Path(__file__).resolve().parent
K8S_SCHEMA_DIR = "kubernetes-json-schema/v1.30.0-local-strict"  # kubernetes-validate's bundled schemas
OBJECT_META = "https://kubernetes.io/api/objectmeta/meta/v1"


def k8s_registry() -> referencing.Registry:
    """ObjectMeta (Kubernetes 1.30, strict) and the definitions it refers to, from kubernetes-validate."""
    import json

    base = resources.files("kubernetes_validate").joinpath(K8S_SCHEMA_DIR)
    registry = referencing.Registry()
    for name in ("objectmeta-meta-v1.json", "_definitions.json"):
        contents = json.loads(base.joinpath(name).read_text())
        registry = referencing.Resource.from_contents(contents) @ registry
    return registry


def list_unique(validator, list_type, instance, schema):
    """x-kubernetes-list-type: `set` items unique; `map` items unique by x-kubernetes-list-map-keys."""
    if not validator.is_type(instance, "array") or list_type not in ("set", "map"):
        return
    keys = schema.get("x-kubernetes-list-map-keys", [])
    seen = set()
    for i, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, dict):
                continue
            key = tuple(repr(item.get(k)) for k in keys)
            what = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
        else:
            key, what = yaml.safe_dump(item, sort_keys=True), repr(item)
        if key in seen:
            yield jsonschema.ValidationError(f"item {i} duplicates an earlier one ({what}; x-kubernetes-list-type {list_type})")
        seen.add(key)


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-kubernetes-list-type": list_unique})


def structural(node, where: str):
    """A CRD openAPIV3Schema node as a JSON Schema with strict-field-validation semantics."""
    if isinstance(node, list):
        return [structural(n, where) for n in node]
    if not isinstance(node, dict):
        return node
    if "x-kubernetes-validations" in node:
        raise SystemExit(f"{where}: CEL rules (x-kubernetes-validations) are not supported by this checker")
    out = {}
    for k, v in node.items():
        if k in ("default", "enum", "example", "const"):
            out[k] = v  # values, not schemas
        elif k not in ("properties", "description") and not k.startswith("x-kubernetes-") \
                or k == "x-kubernetes-list-type":
            out[k] = structural(v, where)
    if "properties" in node:
        out["properties"] = {name: structural(s, where) for name, s in node["properties"].items()}
    if node.get("x-kubernetes-list-type") == "map":
        out["x-kubernetes-list-map-keys"] = node.get("x-kubernetes-list-map-keys", [])
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if isinstance(out.get("pattern"), str) and out["pattern"].startswith("^(?i)"):
        out["pattern"] = "(?i)^" + out["pattern"][len("^(?i)"):]
    if (out.get("type") == "object" or "properties" in node) and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def load_crds(directory: Path) -> dict[tuple[str, str], tuple[dict, str]]:
    """(apiVersion, kind) -> (JSON Schema, CRD file) for every served version of every CRD under directory."""
    schemas = {}
    for path in sorted(directory.rglob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec, rel = crd["spec"], str(path.relative_to(directory))
            for version in spec["versions"]:
                if not version.get("served", False):
                    continue
                api_version = f"{spec['group']}/{version['name']}"
                root = structural(copy.deepcopy(version["schema"]["openAPIV3Schema"]), rel)
                root["properties"]["metadata"] = {"$ref": OBJECT_META, "required": ["name"]}
                root["properties"]["apiVersion"] = {"const": api_version}
                root["properties"]["kind"] = {"const": spec["names"]["kind"]}
                root["required"] = sorted(set(root.get("required", [])) | {"apiVersion", "kind", "metadata"})
                Validator.check_schema(root)
                schemas[(api_version, spec["names"]["kind"])] = (root, rel)
    if not schemas:
        raise SystemExit(f"no CustomResourceDefinition under {directory}")
    return schemas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", type=Path, default=SCHEMAS, help="directory of vendored CRD YAML files")
    parser.add_argument("--rest", type=Path, help="write the documents no vendored CRD serves here")
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    schemas = load_crds(args.schemas)
    registry = k8s_registry()
    docs = [d for d in yaml.safe_load_all(args.file.read_text()) if d]
    rest, invalid = [], 0
    for doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind")) if isinstance(doc, dict) else None
        if key not in schemas:
            rest.append(doc)
            continue
        schema, crd_file = schemas[key]
        meta = doc.get("metadata") or {}
        name = f"{meta.get('namespace', '<no namespace>')}/{meta.get('name', '<no name>')}"
        errors = sorted(Validator(schema, registry=registry).iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            invalid += 1
            print(f"INVALID {doc['kind']} {name} ({doc['apiVersion']}, {crd_file}):", file=sys.stderr)
            for e in errors[:20]:
                path = ".".join(str(p) for p in e.absolute_path) or "<root>"
                print(f"  {path}: {e.message}", file=sys.stderr)
            if len(errors) > 20:
                print(f"  … and {len(errors) - 20} more", file=sys.stderr)
        else:
            print(f"VALID {doc['kind']} {name} ({doc['apiVersion']}, {crd_file})")
    if args.rest is not None:
        args.rest.write_text(yaml.safe_dump_all(rest, sort_keys=False) if rest else "")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
