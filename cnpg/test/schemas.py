#!/usr/bin/env python3
"""Write the JSON schemas kubeconform validates against, from the sources
cnpg/deps.sh installed: the CRDs of CloudNativePG, the Barman Cloud plugin,
the Prometheus operator and Chainsaw, and Kubernetes' own OpenAPI v3
documents for the core kinds.

    schemas.py TOOLS_DIR OUT_DIR

Layout (kubeconform -schema-location 'OUT_DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'):
OUT_DIR/<group>/<kind>_<version>.json, with the core group ("") directly in
OUT_DIR.  Every schema is strict: an object that lists its properties gets
additionalProperties: false unless it says otherwise (CRDs:
x-kubernetes-preserve-unknown-fields), so a misspelt field is an error, as
the API server's strict field validation makes it.
"""
import copy
import glob
import json
import os
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# YAML 1.1's "=" (the value key type) appears unquoted in an enum of the
# Prometheus operator's CRDs: it is the string "="
Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def strict(node):
    """Make a schema (a CRD's openAPIV3Schema or an OpenAPI component) strict,
    and translate the Kubernetes extensions JSON Schema does not know."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: strict(v) for k, v in node.items()}
    if node.get("x-kubernetes-int-or-string"):
        for k in ("type", "format"):
            node.pop(k, None)
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("format") == "int-or-string":
        node.pop("format")
        node.pop("type", None)
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        node["additionalProperties"] = False
    return node


def write(out, group, kind, version, schema):
    d = os.path.join(out, group) if group else out
    os.makedirs(d, exist_ok=True)
    name = os.path.join(d, "%s_%s.json" % (kind.lower(), version))
    with open(name, "w") as f:
        json.dump(schema, f)
    return name


def from_crds(tools, out):
    n = 0
    for path in sorted(glob.glob(os.path.join(tools, "crds", "*", "*.yaml"))):
        with open(path) as f:
            for doc in yaml.load_all(f, Loader=Loader):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                group = doc["spec"]["group"]
                kind = doc["spec"]["names"]["kind"]
                for v in doc["spec"]["versions"]:
                    schema = strict(copy.deepcopy(v["schema"]["openAPIV3Schema"]))
                    # apiVersion, kind and metadata are the API server's own
                    props = schema.setdefault("properties", {})
                    props["apiVersion"] = {"type": "string", "enum": ["%s/%s" % (group, v["name"])]}
                    props["kind"] = {"type": "string", "enum": [kind]}
                    props.setdefault("metadata", {"type": "object"})
                    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
                    write(out, group, kind, v["name"], schema)
                    n += 1
    return n


def from_openapi(tools, out):
    n = 0
    for path in sorted(glob.glob(os.path.join(tools, "openapi", "*.json"))):
        with open(path) as f:
            doc = json.load(f)
        components = doc.get("components", {}).get("schemas", {})
        strict_components = {k: strict(v) for k, v in components.items()}
        # ObjectMeta and the like carry free-form maps (labels, annotations):
        # those are additionalProperties: {type: string} already.
        for name, schema in components.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                if name.endswith("List") or gvk["kind"].endswith("Options") or gvk["kind"] == "WatchEvent":
                    continue
                if "." not in name or "apimachinery" in name:
                    continue
                top = dict(strict_components[name])
                top["components"] = {"schemas": strict_components}
                props = dict(top.get("properties", {}))
                api = gvk["version"] if not gvk["group"] else "%s/%s" % (gvk["group"], gvk["version"])
                props["apiVersion"] = {"type": "string", "enum": [api]}
                props["kind"] = {"type": "string", "enum": [gvk["kind"]]}
                top["properties"] = props
                top["required"] = sorted(set(top.get("required", [])) | {"apiVersion", "kind"})
                write(out, gvk["group"], gvk["kind"], gvk["version"], top)
                n += 1
    return n


def main():
    tools, out = sys.argv[1], sys.argv[2]
    crds = from_crds(tools, out)
    core = from_openapi(tools, out)
    if crds == 0 or core == 0:
        sys.exit("no schemas written (%d from CRDs, %d from OpenAPI): is %s complete?" % (crds, core, tools))
    print("%d schemas from CRDs, %d from Kubernetes' OpenAPI in %s" % (crds, core, out))


if __name__ == "__main__":
    main()
