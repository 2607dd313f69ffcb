#!/usr/bin/env python3
"""Consistency checks of cnpg/ and charts/pg-trickle-cluster/ that a schema
cannot express (run by cnpg/test/run_tests.sh; each mode is one test):

  --rendered DIR --promtool P --workdir W
        versions and image tags; every reference between resources resolves
        (Database/Pooler/ScheduledBackup -> Cluster, plugin -> ObjectStore,
        exporter -> ConfigMap and -rw Service, PodMonitor -> exporter pods);
        the exporter's queries and the PrometheusRule equal monitoring/'s,
        and promtool accepts the rules
  --chainsaw DIR --rendered FILE
        the e2e test's names match what the chart renders for its values
  --images
        the structure of cnpg/image/Dockerfile*
  --gucs FILE --rendered FILE
        the chart sets exactly the pg_trickle.* parameters in FILE (the
        server's pg_settings), and values.yaml/values.schema.json name the same
  --job-script FILE --bindir B --workdir W --port N
        the e2e Job's shell script against a real server, as the owner
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHART = "charts/pg-trickle-cluster"
MONITOR_ROLE = "pgtrickle_monitor"  # monitoring/README.md, "Monitoring role"


class Failure(Exception):
    pass


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def control_version(root):
    with open(os.path.join(root, "pg_trickle.control")) as f:
        m = re.search(r"^default_version\s*=\s*'([^']+)'", f.read(), re.M)
    return m.group(1)


def tag_major(image):
    """The PostgreSQL major CloudNativePG reads from an image tag (the
    leading digits-and-dots of the tag, its semantic-version prefix)."""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    m = re.match(r"^(\d\.?)+", tag)
    if not m:
        raise Failure("image %s: the tag does not start with a version (CloudNativePG cannot tell the major)" % image)
    return int(m.group(0).split(".")[0])


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def check_references(docs, label, monitoring_docs=()):
    clusters = {c["metadata"]["name"]: c for c in by_kind(docs, "Cluster")}
    if not clusters:
        raise Failure("%s: no Cluster" % label)
    stores = {s["metadata"]["name"] for s in by_kind(docs, "ObjectStore")}
    for kind in ("Database", "Pooler", "ScheduledBackup"):
        for d in by_kind(docs, kind):
            if d["spec"]["cluster"]["name"] not in clusters:
                raise Failure("%s: %s %s names Cluster %s, which is not there"
                              % (label, kind, d["metadata"]["name"], d["spec"]["cluster"]["name"]))
    for name, c in clusters.items():
        for p in c["spec"].get("plugins", []):
            if p["name"] == "barman-cloud.cloudnative-pg.io":
                if p.get("parameters", {}).get("barmanObjectName") not in stores:
                    raise Failure("%s: Cluster %s archives to an ObjectStore that is not there" % (label, name))
                if not p.get("isWALArchiver"):
                    raise Failure("%s: Cluster %s: the plugin must archive WAL (point-in-time recovery)" % (label, name))
        if by_kind(docs, "ScheduledBackup") and not c["spec"].get("plugins"):
            raise Failure("%s: a ScheduledBackup with method plugin, but Cluster %s has no backup plugin" % (label, name))
        dbs = [d for d in by_kind(docs, "Database") if d["spec"]["cluster"]["name"] == name]
        boot = c["spec"].get("bootstrap", {}).get("initdb", {})
        for d in dbs:
            if (d["spec"]["name"], d["spec"]["owner"]) != (boot.get("database"), boot.get("owner")):
                raise Failure("%s: Database %s is not the bootstrap database of %s" % (label, d["spec"]["name"], name))
            if "pg_trickle" not in [e["name"] for e in d["spec"].get("extensions", [])]:
                raise Failure("%s: Database %s does not create pg_trickle" % (label, d["spec"]["name"]))
    for p in by_kind(docs, "Pooler"):
        if p["spec"]["pgbouncer"].get("poolMode") not in ("transaction", "session"):
            raise Failure("%s: Pooler %s: pool mode %s" % (label, p["metadata"]["name"], p["spec"]["pgbouncer"].get("poolMode")))
    deployments = [d for d in by_kind(docs, "Deployment")
                   if any(c["name"] == "postgres-exporter" for c in d["spec"]["template"]["spec"]["containers"])]
    configmaps = {c["metadata"]["name"]: c for c in by_kind(list(docs) + list(monitoring_docs), "ConfigMap")}
    for dep in deployments:
        pod = dep["spec"]["template"]
        cont = pod["spec"]["containers"][0]
        env = {e["name"]: e for e in cont["env"]}
        uri = env["DATA_SOURCE_URI"]["value"]
        m = re.match(r"^([a-z0-9-]+)-rw:5432/([^?]+)\?sslmode=require$", uri)
        if not m or m.group(1) not in clusters:
            raise Failure("%s: exporter connects to %s, not to a Cluster's -rw Service" % (label, uri))
        boot = clusters[m.group(1)]["spec"]["bootstrap"]["initdb"]
        if m.group(2) != boot["database"]:
            raise Failure("%s: exporter reads database %s, the extension is in %s" % (label, m.group(2), boot["database"]))
        roles = clusters[m.group(1)]["spec"].get("managed", {}).get("roles", [])
        mon = [r for r in roles if r["name"] == MONITOR_ROLE]
        if not mon or "pg_monitor" not in mon[0].get("inRoles", []) or not mon[0].get("login"):
            raise Failure("%s: Cluster %s has no LOGIN role %s in pg_monitor" % (label, m.group(1), MONITOR_ROLE))
        secret = mon[0]["passwordSecret"]["name"]
        for var in ("DATA_SOURCE_USER", "DATA_SOURCE_PASS"):
            if env[var]["valueFrom"]["secretKeyRef"]["name"] != secret:
                raise Failure("%s: exporter's %s is not from the role's Secret %s" % (label, var, secret))
        cm = pod["spec"]["volumes"][0]["configMap"]["name"]
        if cm not in configmaps:
            raise Failure("%s: exporter mounts ConfigMap %s, which is not there" % (label, cm))
        arg = [a for a in cont["args"] if a.startswith("--extend.query-path=")][0].split("=", 1)[1]
        mount = cont["volumeMounts"][0]["mountPath"]
        if os.path.dirname(arg) != mount or os.path.basename(arg) not in configmaps[cm]["data"]:
            raise Failure("%s: --extend.query-path %s is not a file of ConfigMap %s" % (label, arg, cm))
        for pm in by_kind(docs, "PodMonitor"):
            sel = pm["spec"]["selector"]["matchLabels"]
            if any(pod["metadata"]["labels"].get(k) != v for k, v in sel.items()):
                raise Failure("%s: PodMonitor %s does not select the exporter's pods" % (label, pm["metadata"]["name"]))
            ports = [p["name"] for p in cont["ports"]]
            if any(e["port"] not in ports for e in pm["spec"]["podMetricsEndpoints"]):
                raise Failure("%s: PodMonitor %s scrapes a port the exporter does not have" % (label, pm["metadata"]["name"]))


def check_monitoring_copies(root, docs, label, promtool, workdir):
    with open(os.path.join(root, "monitoring/prometheus/pgtrickle_queries.yml")) as f:
        queries = f.read()
    with open(os.path.join(root, "monitoring/prometheus/alerts.yml")) as f:
        alerts = yaml.safe_load(f)
    for cm in by_kind(docs, "ConfigMap"):
        if "pgtrickle_queries.yml" in cm.get("data", {}) and cm["data"]["pgtrickle_queries.yml"].rstrip("\n") != queries.rstrip("\n"):
            raise Failure("%s: ConfigMap %s differs from monitoring/prometheus/pgtrickle_queries.yml" % (label, cm["metadata"]["name"]))
    for i, rule in enumerate(by_kind(docs, "PrometheusRule")):
        if rule["spec"]["groups"] != alerts["groups"]:
            raise Failure("%s: PrometheusRule %s differs from monitoring/prometheus/alerts.yml" % (label, rule["metadata"]["name"]))
        if promtool and os.access(promtool, os.X_OK):
            path = os.path.join(workdir, "rules-%s-%d.yml" % (re.sub(r"\W", "_", label), i))
            with open(path, "w") as f:
                yaml.safe_dump({"groups": rule["spec"]["groups"]}, f, sort_keys=False)
            r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
            if r.returncode != 0:
                raise Failure("%s: promtool check rules: %s" % (label, (r.stdout + r.stderr).strip()[-600:]))


def check_image(cluster, label, version):
    """The operand image <major>-<version>, or (PostgreSQL 18+) CloudNativePG's
    image with pg_trickle's extension image <major>-<version> as a volume."""
    image = cluster["spec"]["imageName"]
    volumes = [e["image"]["reference"] for e in cluster["spec"]["postgresql"].get("extensions", [])]
    major = tag_major(image)
    if volumes:
        if (not image.startswith("ghcr.io/cloudnative-pg/postgresql:") or major < 18
                or volumes != ["ghcr.io/pg-trickle/pg_trickle-extension:%d-%s" % (major, version)]):
            raise Failure("%s: image volumes need CloudNativePG's PostgreSQL 18+ image and "
                          "ghcr.io/pg-trickle/pg_trickle-extension:<major>-%s, not %s with %s"
                          % (label, version, image, volumes))
    elif image != "ghcr.io/pg-trickle/pg_trickle-cnpg:%d-%s" % (major, version) or major not in (15, 16, 17, 18):
        raise Failure("%s: image %s is not ghcr.io/pg-trickle/pg_trickle-cnpg:<major>-%s" % (label, image, version))


def mode_static(args):
    root = args.root
    version = control_version(root)
    with open(os.path.join(root, CHART, "Chart.yaml")) as f:
        chart = yaml.safe_load(f)
    if chart["appVersion"] != version:
        raise Failure("Chart.yaml appVersion %s is not pg_trickle.control's %s" % (chart["appVersion"], version))
    monitoring_docs = load(os.path.join(root, "cnpg/monitoring.yaml"))
    check_monitoring_copies(root, monitoring_docs, "cnpg/monitoring.yaml", args.promtool, args.workdir)
    for path in sorted(glob.glob(os.path.join(root, "cnpg/cluster-*.yaml"))):
        docs = load(path)
        label = os.path.relpath(path, root)
        for c in by_kind(docs, "Cluster"):
            check_image(c, label, version)
        check_references(docs, label, monitoring_docs)
    rendered = sorted(glob.glob(os.path.join(args.rendered, "*.yaml")))
    if not rendered:
        raise Failure("nothing rendered in %s" % args.rendered)
    for path in rendered:
        docs = load(path)
        label = "chart " + os.path.basename(path)
        for c in by_kind(docs, "Cluster"):
            check_image(c, label, version)
        check_references(docs, label)
        check_monitoring_copies(root, docs, label, args.promtool, args.workdir)
    print("checked %d rendered charts and the plain manifests" % len(rendered))


def mode_chainsaw(args):
    d = args.chainsaw
    docs = load(args.rendered)
    cluster = by_kind(docs, "Cluster")[0]
    names = {("Cluster", cluster["metadata"]["name"])}
    names |= {("Database", x["metadata"]["name"]) for x in by_kind(docs, "Database")}
    test = load(os.path.join(d, "chainsaw-test.yaml"))[0]
    used = set()
    for step in test["spec"]["steps"]:
        for op in step.get("try", []):
            for kind in ("apply", "assert"):
                if kind in op:
                    used.add(op[kind]["file"])
            if "script" in op and "helm" in op["script"]["content"]:
                if "--values ./00-values.yaml pgt ../../" not in op["script"]["content"] and "uninstall" not in op["script"]["content"]:
                    raise Failure("the install step does not install this chart as release pgt with 00-values.yaml")
    for f in sorted(used):
        path = os.path.join(d, f)
        if not os.path.exists(path):
            raise Failure("chainsaw-test.yaml uses %s, which does not exist" % f)
        for doc in load(path):
            key = (doc["kind"], doc["metadata"]["name"])
            if f.endswith("-assert.yaml") and doc["kind"] in ("Cluster", "Database") and key not in names:
                raise Failure("%s asserts %s %s, but the chart renders %s" % (f, key[0], key[1], sorted(names)))
            if doc["kind"] == "Job" and not f.endswith("-assert.yaml"):
                cont = doc["spec"]["template"]["spec"]["containers"][0]
                secret = cont["env"][0]["valueFrom"]["secretKeyRef"]["name"]
                if secret != cluster["metadata"]["name"] + "-app":
                    raise Failure("the Job reads Secret %s, CloudNativePG creates %s-app" % (secret, cluster["metadata"]["name"]))
                if cont["image"] != cluster["spec"]["imageName"]:
                    raise Failure("the Job's image %s is not the cluster's %s" % (cont["image"], cluster["spec"]["imageName"]))
    print("%s: %d files, names match the rendered chart" % (os.path.basename(d.rstrip("/")), len(used)))


def mode_images(args):
    from dockerfile_parse import DockerfileParser

    def stages(path):
        with open(path) as f:
            p = DockerfileParser(fileobj=f, cache_content=True)
            p.structure  # parsed while the file is open
        out, cur = [], None
        for ins in p.structure:
            if ins["instruction"] == "FROM":
                cur = {"from": ins["value"], "ins": []}
                out.append(cur)
            elif cur is not None:
                cur["ins"].append((ins["instruction"], ins["value"]))
        defaults = {}
        for ins in p.structure:
            if ins["instruction"] == "ARG" and "=" in ins["value"]:
                k, v = ins["value"].split("=", 1)
                defaults.setdefault(k, v)
        return out, defaults, p

    img = os.path.join(args.root, "cnpg/image")
    for name, major, final_from, dests, user in (
            ("Dockerfile", "15", "${CNPG_IMAGE}:${PG_MAJOR}-${CNPG_FLAVOR}",
             {"/usr/lib/postgresql/${PG_MAJOR}/lib/", "/usr/share/postgresql/${PG_MAJOR}/extension/"}, "26"),
            ("Dockerfile.extension", "18", "scratch", {"/lib/", "/share/extension/"}, "65532:65532")):
        st, defaults, p = stages(os.path.join(img, name))
        if defaults.get("PG_MAJOR") != major:
            raise Failure("%s: ARG PG_MAJOR defaults to %s, want %s" % (name, defaults.get("PG_MAJOR"), major))
        if defaults.get("CNPG_IMAGE") != "ghcr.io/cloudnative-pg/postgresql":
            raise Failure("%s: not built on CloudNativePG's PostgreSQL image" % name)
        if not st[0]["from"].startswith("${CNPG_IMAGE}:${PG_MAJOR}-"):
            raise Failure("%s: the build stage is not CloudNativePG's image of the same major" % name)
        final = st[-1]
        if final["from"] != final_from:
            raise Failure("%s: final stage FROM %s, want %s" % (name, final["from"], final_from))
        copies = [v.split() for i, v in final["ins"] if i == "COPY"]
        got = {c[-1] for c in copies}
        if got != dests or any(not c[0].startswith("--from=build") for c in copies):
            raise Failure("%s: the final stage copies %s, want exactly %s from the build stage" % (name, sorted(got), sorted(dests)))
        users = [v for i, v in final["ins"] if i == "USER"]
        if users[-1:] != [user]:
            raise Failure("%s: final USER %s, want %s" % (name, users[-1:], user))
        text = open(os.path.join(img, name)).read()
        if re.search(r"^\s*RUN .*shared_preload_libraries", text, re.M) or "postgresql.conf" in "".join(
                v for i, v in final["ins"] if i == "RUN"):
            raise Failure("%s: the image must not preload pg_trickle (the operator owns the configuration)" % name)
        for i, v in st[0]["ins"]:
            if i == "COPY":
                for src in v.split()[:-1]:
                    if not os.path.exists(os.path.join(args.root, src)):
                        raise Failure("%s: COPY %s: no such file in the source tree" % (name, src))
    print("cnpg/image/Dockerfile and Dockerfile.extension: structure as designed")


def mode_gucs(args):
    with open(args.gucs) as f:
        server = {l.strip() for l in f if l.strip()}
    cluster = by_kind(load(args.rendered), "Cluster")[0]
    chart = {k for k in cluster["spec"]["postgresql"]["parameters"] if k.startswith("pg_trickle.")}
    if chart != server:
        raise Failure("the chart sets %s; the server has %s" % (
            ", ".join(sorted(chart - server)) or "nothing extra", ", ".join(sorted(server - chart)) or "nothing more"))
    with open(os.path.join(args.root, CHART, "values.yaml")) as f:
        values = yaml.safe_load(f)["pgtrickle"]
    with open(os.path.join(args.root, CHART, "values.schema.json")) as f:
        schema = json.load(f)["properties"]["pgtrickle"]["properties"]
    if set(values) != set(schema) or len(values) != len(server):
        raise Failure("values.yaml pgtrickle %s, values.schema.json %s, the server %d GUCs"
                      % (sorted(values), sorted(schema), len(server)))
    for key, prop in schema.items():
        if not prop.get("description", "").startswith("pg_trickle."):
            raise Failure("values.schema.json pgtrickle.%s does not name its GUC" % key)
    print("the chart's %d pg_trickle.* parameters are the server's" % len(chart))


def mode_job_script(args):
    import parity
    job = load(args.job_script)[0]
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    base = os.path.join(args.workdir, "job-script")
    datadir = os.path.join(base, "data")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    server = parity.Server(args.bindir, datadir, args.port)
    try:
        run_job_script(args, parity, server, base, datadir, script)
    except parity.Failure as e:
        raise Failure(str(e))
    shutil.rmtree(base, ignore_errors=True)
    print("the e2e Job's script passed against %s" % args.bindir)


def run_job_script(args, parity, server, base, datadir, script):
    server.run(os.path.join(args.bindir, "initdb"), "-D", datadir, "-A", "trust", "-U", "postgres",
               "--no-locale", "-E", "UTF8", "--no-sync")
    with open(os.path.join(datadir, "postgresql.conf"), "a") as f:
        f.write("listen_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n" % (base, args.port))
        f.write("shared_preload_libraries = 'pg_trickle'\nlc_messages = 'C'\n")
    try:
        server.start()
        # what bootstrap.initdb and the Database resource do
        server.psql("CREATE ROLE app LOGIN")
        server.psql("CREATE DATABASE app OWNER app")
        server.psql("CREATE EXTENSION pg_trickle", db="app")
        env = dict(os.environ, PATH=args.bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                   DATABASE_URL="postgresql://app@/app?host=%s&port=%d" % (base, args.port))
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True,
                           text=True, timeout=200)
        if r.returncode != 0:
            raise Failure("the Job's script failed (%d): %s" % (r.returncode, (r.stdout + r.stderr).strip()[-800:]))
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--rendered")
    ap.add_argument("--promtool")
    ap.add_argument("--workdir")
    ap.add_argument("--chainsaw")
    ap.add_argument("--images", action="store_true")
    ap.add_argument("--gucs")
    ap.add_argument("--job-script")
    ap.add_argument("--bindir")
    ap.add_argument("--port", type=int)
    args = ap.parse_args()
    try:
        if args.images:
            mode_images(args)
        elif args.chainsaw:
            mode_chainsaw(args)
        elif args.gucs:
            mode_gucs(args)
        elif args.job_script:
            mode_job_script(args)
        else:
            mode_static(args)
    except Failure as e:
        print(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
