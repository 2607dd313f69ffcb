#!/usr/bin/env python3
"""Configuration parity: start a real PostgreSQL with exactly the settings a
CloudNativePG Cluster manifest gives it, and check that pg_trickle works
there as the manifest means it to.

    parity.py --bindir DIR --workdir DIR --port N MANIFEST [--gucs-out FILE]
              [--extensions-dir DIR]

For every Cluster in MANIFEST (a YAML stream: a plain manifest or the
output of helm template):

* its spec.postgresql.parameters must not name a parameter CloudNativePG
  manages itself (its webhook refuses those), and spec.postgresql.
  shared_preload_libraries must contain pg_trickle;
* a new cluster (initdb) gets those parameters and that
  shared_preload_libraries in postgresql.conf -- nothing else of pg_trickle;
  the only other lines are the private socket, the port and the log
  settings of the test;
* the server must start without any WARNING (an unknown pg_trickle.*
  parameter is reported and removed at startup: pg_trickle reserves its
  prefix); every parameter must come from that file (pg_settings.source),
  and every pg_trickle.* must have the manifest's value (pg_settings);
* what the manifest's Database resources say is run: CREATE EXTENSION for
  each extension of a Database of that Cluster, in that database, created
  with its owner;
* as that owner, a stream table is created on a table of its own with a 1 s
  schedule; after an insert the scheduler (not a manual refresh) must bring
  it up to date within 60 s -- unless the manifest sets
  pg_trickle.enabled = off, then it must stay untouched.

A Cluster that mounts extension images (spec.postgresql.extensions,
PostgreSQL 18) gets the extension_control_path and dynamic_library_path
CloudNativePG gives it, with DIR/<name> (--extensions-dir) standing for the
image volume /extensions/<name>.

--gucs-out FILE writes the names of the pg_trickle.* parameters the server
knows (pg_settings) to FILE.  Prints what it does; exits 1 with the reason
on the first failure.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import yaml

# Parameters CloudNativePG sets itself or blocks (its FixedConfigurationParameters,
# cloudnative-pg v1.29.0 pkg/postgres/configuration.go): a Cluster that sets one
# is refused by the operator's webhook.
OPERATOR_MANAGED = {
    "allow_system_table_mods", "archive_mode", "bonjour", "bonjour_name", "cluster_name",
    "config_file", "data_directory", "data_sync_retry", "event_source", "external_pid_file",
    "hba_file", "hot_standby", "ident_file", "jit_provider", "listen_addresses",
    "logging_collector", "port", "primary_conninfo", "primary_slot_name", "recovery_target",
    "recovery_target_action", "recovery_target_inclusive", "recovery_target_lsn",
    "recovery_target_name", "recovery_target_time", "recovery_target_timeline",
    "recovery_target_xid", "restore_command", "shared_preload_libraries", "temp_tablespaces",
    "unix_socket_directories", "unix_socket_group", "unix_socket_permissions",
    "archive_cleanup_command", "archive_command", "log_destination", "log_directory",
    "log_file_mode", "log_filename", "log_rotation_age", "log_rotation_size",
    "log_truncate_on_rotation", "promote_trigger_file", "recovery_end_command",
    "recovery_min_apply_delay", "restart_after_crash", "ssl", "ssl_ca_file", "ssl_cert_file",
    "ssl_crl_file", "ssl_dh_params_file", "ssl_ecdh_curve", "ssl_key_file",
    "ssl_passphrase_command", "ssl_passphrase_command_supports_reload",
    "ssl_prefer_server_ciphers", "stats_temp_directory", "synchronous_standby_names",
    "synchronized_standby_slots", "syslog_facility", "syslog_ident", "syslog_sequence_numbers",
    "syslog_split_messages",
}


class Failure(Exception):
    pass


def conf_quote(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def literal(text):
    return "'" + text.replace("'", "''") + "'"


class Server:
    def __init__(self, bindir, datadir, port):
        self.bindir, self.datadir, self.port = bindir, datadir, port
        self.socket = os.path.dirname(datadir)
        self.log = os.path.join(self.socket, "server.log")

    def run(self, *args, check=True, **kw):
        r = subprocess.run(args, capture_output=True, text=True, **kw)
        if check and r.returncode != 0:
            raise Failure("%s failed: %s" % (" ".join(args[:2]), (r.stderr or r.stdout).strip()[-800:]))
        return r

    def psql(self, sql, db="postgres", user="postgres"):
        r = self.run(os.path.join(self.bindir, "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                     "-h", self.socket, "-p", str(self.port), "-U", user, "-d", db, "-c", sql)
        return r.stdout.strip()

    def start(self):
        self.run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-l", self.log, "-w", "start")

    def stop(self):
        if os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            self.run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "stop",
                     check=False)

    def problems(self):
        """WARNING/ERROR/FATAL/PANIC lines of the server log."""
        with open(self.log) as f:
            return [line.rstrip() for line in f
                    if any(k in line for k in ("WARNING:", "ERROR:", "FATAL:", "PANIC:"))]


def databases_of(docs, cluster):
    """(database, owner, [extension...]) of the Database resources of CLUSTER."""
    out = []
    for d in docs:
        if d.get("kind") == "Database" and d["spec"]["cluster"]["name"] == cluster:
            exts = [e["name"] for e in d["spec"].get("extensions", []) if e.get("ensure", "present") == "present"]
            out.append((d["spec"]["name"], d["spec"]["owner"], exts))
    return out


def check_cluster(args, docs, cluster, index):
    name = cluster["metadata"]["name"]
    pg = cluster["spec"].get("postgresql", {})
    params = {k: str(v) for k, v in (pg.get("parameters") or {}).items()}
    preload = pg.get("shared_preload_libraries") or []
    managed = sorted(set(params) & OPERATOR_MANAGED)
    if managed:
        raise Failure("%s sets parameters CloudNativePG manages (its webhook refuses them): %s"
                      % (name, ", ".join(managed)))
    if "pg_trickle" not in preload:
        raise Failure("%s: shared_preload_libraries %s lacks pg_trickle (no scheduler without it)"
                      % (name, preload))

    base = os.path.join(args.workdir, "%02d-%s" % (index, name))
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    datadir = os.path.join(base, "data")
    server = Server(args.bindir, datadir, args.port)
    server.run(os.path.join(args.bindir, "initdb"), "-D", datadir, "-A", "trust", "-U", "postgres",
               "--no-locale", "-E", "UTF8", "--no-sync")
    with open(os.path.join(datadir, "postgresql.conf"), "a") as f:
        f.write("\n# the test's own: a private socket, no TCP, log in English\n")
        f.write("listen_addresses = ''\nunix_socket_directories = %s\nport = %d\n"
                % (conf_quote(base), args.port))
        f.write("lc_messages = 'C'\nlog_min_messages = warning\n")
        f.write("\n# from the Cluster %s\n" % name)
        f.write("shared_preload_libraries = %s\n" % conf_quote(",".join(preload)))
        for k, v in params.items():
            f.write("%s = %s\n" % (k, conf_quote(v)))
        images = pg.get("extensions") or []
        if images:
            # what CloudNativePG does for image volumes: each image mounted at
            # /extensions/<name>, its share/ (or extension_control_path) on
            # extension_control_path, its lib/ (or dynamic_library_path) on
            # dynamic_library_path, after the server's own
            if not args.extensions_dir:
                raise Failure("%s mounts extension images; give --extensions-dir" % name)
            control, libs = ["$system"], ["$libdir"]
            for ext in images:
                mount = os.path.join(args.extensions_dir, ext["name"])
                if not os.path.isdir(mount):
                    raise Failure("%s: no emulated image volume %s" % (name, mount))
                control += [os.path.join(mount, p.lstrip("/")) for p in ext.get("extension_control_path", ["share"])]
                libs += [os.path.join(mount, p.lstrip("/")) for p in ext.get("dynamic_library_path", ["lib"])]
            f.write("extension_control_path = %s\n" % conf_quote(":".join(control)))
            f.write("dynamic_library_path = %s\n" % conf_quote(":".join(libs)))
    try:
        server.start()
        bad = server.problems()
        if bad:
            raise Failure("%s: the server complained at startup: %s" % (name, " | ".join(bad[:5])))
        for k, v in params.items():
            row = server.psql("SELECT setting || '|' || vartype || '|' || source FROM pg_settings WHERE name = %s"
                              % literal(k.lower()))
            if row == "":
                raise Failure("%s: parameter %s is unknown to the server (not in pg_settings)" % (name, k))
            setting, vartype, source = row.split("|", 2)
            if source != "configuration file":
                raise Failure("%s: %s comes from %s, not from the manifest's value" % (name, k, source))
            if k.startswith("pg_trickle.") and not same(setting, vartype, v):
                raise Failure("%s: %s is %r on the server, the manifest says %r" % (name, k, setting, v))
        print("  %s: %d parameters accepted from postgresql.conf, pg_trickle.* equal to the manifest's" % (name, len(params)))
        if args.gucs_out:
            with open(args.gucs_out, "w") as f:
                f.write(server.psql("SELECT name FROM pg_settings WHERE name LIKE 'pg\\_trickle.%' ORDER BY 1") + "\n")

        dbs = databases_of(docs, name)
        if not dbs:
            boot = cluster["spec"].get("bootstrap", {}).get("initdb", {})
            raise Failure("%s: no Database resource creates pg_trickle (bootstrap database %s)"
                          % (name, boot.get("database", "app")))
        for db, owner, exts in dbs:
            if "pg_trickle" not in exts:
                raise Failure("%s: Database %s does not create pg_trickle" % (name, db))
            server.psql("CREATE ROLE %s LOGIN" % ident(owner))
            server.psql("CREATE DATABASE %s OWNER %s" % (ident(db), ident(owner)))
            for e in exts:
                server.psql("CREATE EXTENSION %s" % ident(e), db=db)
            version = server.psql("SELECT extversion FROM pg_extension WHERE extname = 'pg_trickle'", db=db)
            print("  %s: CREATE EXTENSION pg_trickle %s in %s" % (name, version, db))
            stream_table(server, name, db, owner, params.get("pg_trickle.enabled", "on"))
        bad = server.problems()
        if bad:
            raise Failure("%s: the server logged: %s" % (name, " | ".join(bad[:5])))
    finally:
        server.stop()
    shutil.rmtree(base, ignore_errors=True)


def same(setting, vartype, value):
    """pg_settings.setting SETTING (of type VARTYPE) is the manifest's VALUE."""
    if vartype == "bool":
        return setting == ("on" if value.lower() in ("on", "true", "yes", "1") else "off")
    if vartype == "integer":
        return value.isdigit() and int(setting) == int(value)
    if vartype == "real":
        return abs(float(setting) - float(value)) < 1e-9
    return setting == value.lower() if vartype == "enum" else setting == value


def stream_table(server, cluster, db, owner, enabled):
    server.psql("CREATE TABLE parity_orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);"
                "INSERT INTO parity_orders VALUES (1, 'a', 10), (2, 'b', 5);"
                "SELECT pgtrickle.create_stream_table('parity_totals', "
                "'SELECT customer, sum(amount) AS total FROM parity_orders GROUP BY customer', '1s', 'DIFFERENTIAL')",
                db=db, user=owner)
    server.psql("INSERT INTO parity_orders VALUES (3, 'a', 7)", db=db, user=owner)
    on = enabled.lower() in ("on", "true", "yes", "1")
    deadline = time.monotonic() + (60 if on else 3)
    total = None
    while time.monotonic() < deadline:
        total = server.psql("SELECT total FROM parity_totals WHERE customer = 'a'", db=db, user=owner)
        if total == "17":
            break
        time.sleep(0.2)
    if on and total != "17":
        raise Failure("%s: the scheduler did not refresh the stream table within 60 s (total %s, want 17)"
                      % (cluster, total))
    if not on and total != "10":
        raise Failure("%s: pg_trickle.enabled = off, yet the stream table was refreshed (total %s)" % (cluster, total))
    print("  %s: stream table in %s as %s %s" % (cluster, db, owner,
                                                 "refreshed by the scheduler" if on else "left alone (scheduler off)"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--gucs-out")
    ap.add_argument("--extensions-dir", help="stands for /extensions: one directory per image volume of spec.postgresql.extensions")
    ap.add_argument("manifest")
    args = ap.parse_args()
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    clusters = [d for d in docs if d.get("kind") == "Cluster"]
    if not clusters:
        print("no Cluster in %s" % args.manifest)
        return 1
    try:
        for i, c in enumerate(clusters):
            check_cluster(args, docs, c, i)
    except Failure as e:
        print(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
