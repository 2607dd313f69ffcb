#!/usr/bin/env python3
"""The container image without Docker: reads packaging/docker/Dockerfile
(dockerfile-parse), checks its structure, then applies its own
configuration steps to a real PostgreSQL here and checks the result:

* the final stage's RUN line is run as it is, with the image's
  /usr/share/postgresql/postgresql.conf.sample moved to a copy of this
  PostgreSQL's share directory, and initdb -L takes the copy (as initdb in
  the image takes the edited sample);
* the files COPY puts into /docker-entrypoint-initdb.d/ are applied the way
  the official image's entrypoint does: in sorted order, *.sql with
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password in POSTGRES_DB, *.sh run
  when executable and sourced otherwise, by a server listening on no TCP
  address; then the server is restarted for real;
* the server preloads pg_trickle, the extension is in POSTGRES_DB, the
  scheduler refreshes a stream table, the HEALTHCHECK command passes, and
  fails on a server without the library preloaded.

Prints "ok image ..." / "FAILED image ...: why" per check.

    check_image.py --pg-config PG_CONFIG --workdir DIR [--user USER]
"""
import argparse
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

from dockerfile_parse import DockerfileParser

here = pathlib.Path(__file__).resolve().parent
root = here.parents[1]
docker_dir = root / "packaging/docker"

ap = argparse.ArgumentParser()
ap.add_argument("--pg-config", required=True)
ap.add_argument("--workdir", required=True)
ap.add_argument("--user", default="postgres", help="OS user that runs the server when run as root")
args = ap.parse_args()

failed = 0


def report(name, why=None):
    global failed
    if why:
        print(f"FAILED image {name}: {why}", flush=True)
        failed += 1
    else:
        print(f"ok image {name}", flush=True)


def as_user(cmd, **kw):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", args.user, "--"] + cmd
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


# --- structure ---------------------------------------------------------------

parser = DockerfileParser(path=str(docker_dir / "Dockerfile"))
instructions = parser.structure
stages = []
pre_args = {}
for ins in instructions:
    if ins["instruction"] == "FROM":
        stages.append({"from": ins["value"], "ins": []})
    elif not stages:
        if ins["instruction"] == "ARG":
            name, _, default = ins["value"].partition("=")
            pre_args[name] = default
    else:
        stages[-1]["ins"].append(ins)
final = stages[-1]["ins"] if stages else []


def of(kind, stage=final):
    return [i["value"] for i in stage if i["instruction"] == kind]


report("ARG PG_MAJOR=15", None if pre_args.get("PG_MAJOR") == "15" else f"ARG PG_MAJOR default {pre_args!r}")
froms = [s["from"].split()[0] for s in stages]
report("FROM postgres:${PG_MAJOR}-bookworm, two stages",
       None if froms == ["postgres:${PG_MAJOR}-bookworm"] * 2 else f"FROM lines {froms}")

# where make install puts the files in the base image's layout (Debian's
# paths, PG_MAJOR substituted), against what the final stage copies
major = "15"
copies = [c.split() for c in of("COPY")]
want_copies = [
    ["--from=build", "/pg_trickle/usr/lib/postgresql/${PG_MAJOR}/lib/", "/usr/lib/postgresql/${PG_MAJOR}/lib/"],
    ["--from=build", "/pg_trickle/usr/share/postgresql/${PG_MAJOR}/extension/",
     "/usr/share/postgresql/${PG_MAJOR}/extension/"],
    ["packaging/docker/initdb/", "/docker-entrypoint-initdb.d/"],
    ["packaging/docker/pg_trickle-healthcheck", "/usr/local/bin/"],
]
report("COPY destinations", None if copies == want_copies else f"COPY lines {copies}")
build_runs = " ".join(of("RUN", stages[0]["ins"]))
report("build stage installs into /pg_trickle",
       None if 'make install PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config" with_llvm=no '
               'DESTDIR=/pg_trickle' in build_runs else build_runs)
users = of("USER")
report("runs as postgres", None if users == ["postgres"] else f"USER {users}")
labels = " ".join(of("LABEL"))
missing = [k for k in ("title", "description", "version", "licenses", "url", "source", "documentation")
           if f"org.opencontainers.image.{k}=" not in labels]
report("OCI labels", None if not missing else f"missing {missing}")
health = of("HEALTHCHECK")
report("HEALTHCHECK", None if len(health) == 1 and '["pg_trickle-healthcheck"]' in health[0] else f"{health}")

# --- behaviour ---------------------------------------------------------------

pg_config = args.pg_config
bindir = pathlib.Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
sharedir = pathlib.Path(subprocess.check_output([pg_config, "--sharedir"], text=True).strip())
work = pathlib.Path(args.workdir)
if work.exists():
    shutil.rmtree(work)
work.mkdir(parents=True)
share = work / "share"
shutil.copytree(sharedir, share, symlinks=True)
sample = share / "postgresql.conf.sample"
if sample.is_symlink():  # the official image's own layout
    real = sample.resolve()
    sample.unlink()
    shutil.copy(real, sample)

runs = [r for r in of("RUN") if "postgresql.conf.sample" in r]
if len(runs) != 1:
    report("RUN edits postgresql.conf.sample", f"{len(runs)} RUN lines edit it")
    sys.exit(1)
run = runs[0].replace("/usr/share/postgresql/postgresql.conf.sample", str(sample))
r = subprocess.run(["/bin/sh", "-c", run], text=True, capture_output=True)
report("the Dockerfile's RUN line on a copy of postgresql.conf.sample",
       None if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()}")

data = work / "data"
sock = work
subprocess.run(["chown", "-R", args.user, str(work)] if os.geteuid() == 0 else ["true"], check=True)
os.chmod(work, 0o755)
r = as_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-L", str(share), "-A", "trust",
             "--no-locale", "-E", "UTF8"])
if r.returncode != 0:
    report("initdb with the edited sample", r.stdout[-2000:] + r.stderr[-2000:])
    sys.exit(1)


def free_port():
    for port in range(57300, 57400):
        if (sock / f".s.PGSQL.{port}").exists():
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise SystemExit("no free port")


port = free_port()
env = dict(os.environ, PGHOST=str(sock), PGPORT=str(port), PGUSER="postgres", PGDATABASE="postgres",
           POSTGRES_USER="postgres", POSTGRES_DB="postgres", PGTZ="UTC")
env.pop("PGPASSWORD", None)


def pg_ctl(*a, options=""):
    cmd = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(work / "server.log"), "-w"]
    if options:
        cmd += ["-o", options]
    return as_user(cmd + list(a), env=env)


def psql(sql, db="postgres"):
    return as_user([str(bindir / "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", db,
                    "-c", sql], env=env)


base_opts = f"-c port={port} -c unix_socket_directories='{sock}'"
try:
    # the entrypoint's temporary server: no TCP
    r = pg_ctl("start", options=base_opts + " -c listen_addresses=''")
    if r.returncode != 0:
        report("temporary server", (work / "server.log").read_text()[-2000:])
        sys.exit(1)
    init_dir = docker_dir / "initdb"
    why = None
    for f in sorted(init_dir.iterdir()):
        if f.name.endswith(".sh"):
            cmd = [str(f)] if os.access(f, os.X_OK) else ["/bin/sh", "-c", f'. "{f}"']
        elif f.name.endswith(".sql"):
            cmd = [str(bindir / "psql"), "-v", "ON_ERROR_STOP=1", "--username", "postgres", "--no-password",
                   "--no-psqlrc", "--dbname", "postgres", "-f", str(f)]
        else:
            continue
        r = as_user(cmd, env=env)
        if r.returncode != 0:
            why = f"{f.name}: {r.stderr.strip()}"
            break
    report("initdb.d scripts as the entrypoint runs them", why)
    pg_ctl("stop", "-m", "fast")

    r = pg_ctl("start", options=base_opts)
    report("server start", None if r.returncode == 0 else (work / "server.log").read_text()[-2000:])
    r = psql("SHOW shared_preload_libraries")
    report("shared_preload_libraries", None if r.stdout.strip() == "pg_trickle" else f"{r.stdout!r} {r.stderr!r}")
    r = psql("SHOW pg_trickle.enabled")
    report("scheduler on", None if r.stdout.strip() == "on" else f"{r.stdout!r} {r.stderr!r}")
    r = psql("SELECT extversion FROM pg_extension WHERE extname = 'pg_trickle'")
    report("extension in POSTGRES_DB", None if r.stdout.strip() else f"not created: {r.stderr!r}")

    r = psql("CREATE TABLE t (k int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1);"
             "SELECT pgtrickle.create_stream_table('t_sum', 'SELECT sum(v) AS s FROM t', '1s');"
             "INSERT INTO t VALUES (2, 2);")
    why = r.stderr.strip() if r.returncode else "not refreshed in 60 s"
    deadline = time.monotonic() + 60
    while r.returncode == 0 and time.monotonic() < deadline:
        if psql("SELECT s FROM t_sum").stdout.strip() == "3":
            why = None
            break
        time.sleep(0.1)
    report("the scheduler refreshes a stream table", why)

    check = [str(docker_dir / "pg_trickle-healthcheck")]
    henv = dict(env, PATH=f"{bindir}:{os.environ['PATH']}")
    r = as_user(check, env=henv)
    report("HEALTHCHECK passes", None if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()}")

    pg_ctl("stop", "-m", "fast")
    r = pg_ctl("start", options=base_opts + " -c shared_preload_libraries=''")
    r = as_user(check, env=henv)
    report("HEALTHCHECK fails without the library preloaded",
           None if r.returncode != 0 else "exit 0 on a server without pg_trickle preloaded")
finally:
    pg_ctl("stop", "-m", "immediate")

sys.exit(1 if failed else 0)
