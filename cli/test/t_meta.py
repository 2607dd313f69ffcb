"""--version, --help of the tool and of each command, the man page and the
bash completion."""

import os
import re
import shlex
import subprocess

import contract as C
import fixtures as F
from common import expect_usage
from harness import CFG, Fail, base_env, check, run, test


@test("cli-version")
def _():
    for flag in ("--version", "-V"):
        r = run([flag], conn=False).ok()
        check(re.fullmatch(r"pgtrickle \(pg_trickle\) \d+\.\d+\.\d+\n", r.out) is not None,
              f"{flag}: stdout is not 'pgtrickle (pg_trickle) X.Y.Z'", r.details())
        check(r.err == "", f"{flag}: stderr not empty", r.details())


@test("cli-help")
def _():
    for flag in ("--help", "-?"):
        r = run([flag], conn=False).ok()
        for cmd in C.COMMANDS:
            check(re.search(rf"\b{cmd}\b", r.out), f"{flag}: help does not list command {cmd}",
                  r.details())
        for opt in C.GLOBAL_OPTIONS + ["-h", "-p", "-U", "-d", "-w", "-W"]:
            check(opt in r.out, f"{flag}: help does not mention option {opt}", r.details())
    # no arguments at all: a usage error that points to --help
    expect_usage(run([], conn=False), "no command")


def _help_test(cmd):
    @test(f"cli-help-{cmd}")
    def _():
        r = run([cmd, "--help"], conn=False).ok()
        check(re.search(rf"\b{cmd}\b", r.out), f"'{cmd} --help' does not name the command", r.details())
        for opt in C.COMMAND_OPTIONS[cmd]:
            check(opt in r.out, f"'{cmd} --help' does not mention {opt}", r.details())
        if cmd in C.NAME_COMMANDS:
            check("NAME" in r.out, f"'{cmd} --help' does not show the NAME argument", r.details())
        # 'help COMMAND' prints the same text
        r2 = run(["help", cmd], conn=False).ok()
        check(r2.out == r.out, f"'help {cmd}' differs from '{cmd} --help'", r2.details())


for _cmd in C.COMMANDS:
    _help_test(_cmd)


def _man_page():
    path = os.path.join(CFG.cli_dir, "doc", "pgtrickle.1")
    check(os.path.isfile(path), "cli/doc/pgtrickle.1 does not exist")
    return path


@test("cli-man-page")
def _():
    path = _man_page()
    p = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0 and p.stderr.strip() == "",
          f"groff -man -ww -z reports: {p.stderr.strip()[:300]!r} (exit {p.returncode})")
    env = base_env(conn=False)
    env["MANWIDTH"] = "80"
    p = subprocess.run(["man", "-l", "-Tutf8", path], capture_output=True, text=True, env=env,
                       timeout=60)
    if p.returncode != 0:  # fall back to groff itself
        p = subprocess.run(["groff", "-man", "-Tutf8", "-P-c", "-P-b", "-P-u", path],
                           capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"rendering the man page failed: {p.stderr[:200]!r}")
    text = re.sub(r".\x08", "", p.stdout)
    for cmd in C.COMMANDS:
        check(re.search(rf"\b{cmd}\b", text), f"the man page does not mention command {cmd}")
    for code in ("EXIT STATUS",):
        check(code in text, f"the man page has no {code} section")
    for opt in ("--format", "--url", "--interval", "--limit", "--cascade", "NO_COLOR"):
        check(opt in text, f"the man page does not mention {opt}")


# --- bash completion -------------------------------------------------------------

def complete(words, db=None):
    """Candidates the completion function offers for the command line WORDS
    (the last word is the one being completed)."""
    script = os.path.join(CFG.cli_dir, "completion", "pgtrickle.bash")
    check(os.path.isfile(script), "cli/completion/pgtrickle.bash does not exist")
    line = " ".join(words)
    prog = (
        "[[ -f /usr/share/bash-completion/bash_completion ]] && "
        "source /usr/share/bash-completion/bash_completion\n"
        f"source {shlex.quote(script)}\n"
        "spec=$(complete -p pgtrickle) || { echo 'no completion for pgtrickle' >&2; exit 90; }\n"
        "fn=$(sed -n 's/.*-F \\([^ ]*\\).*/\\1/p' <<<\"$spec\")\n"
        "[[ -n $fn ]] || { echo \"no -F function: $spec\" >&2; exit 91; }\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={shlex.quote(line)}\n"
        "COMP_POINT=${#COMP_LINE}\n"
        "COMP_TYPE=9\n"
        "COMPREPLY=()\n"
        f"\"$fn\" pgtrickle {shlex.quote(words[-1])} {shlex.quote(words[-2])}\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    env = base_env(db)
    env["PATH"] = os.path.dirname(CFG.tool) + ":" + env.get("PATH", "/usr/bin:/bin")
    p = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, env=env, timeout=60,
                       cwd=CFG.scratch)
    if p.returncode != 0:
        raise Fail(f"completion script failed (exit {p.returncode}): {p.stderr.strip()[:300]}")
    return [w for w in p.stdout.splitlines() if w]


@test("cli-completion-commands")
def _():
    got = complete(["pgtrickle", ""])
    for cmd in C.COMMANDS:
        check(cmd in got, f"completing the command offers {got[:30]}, not {cmd}")
    got = complete(["pgtrickle", "re"])
    check(set(got) >= {"refresh", "resume"} and "list" not in got,
          f"completing 're' offers {got}")


@test("cli-completion-options")
def _():
    got = complete(["pgtrickle", "create", "x", "--"])
    for opt in C.COMMAND_OPTIONS["create"]:
        check(opt in got or opt + "=" in got, f"completing create options offers {got[:40]}, not {opt}")
    got = complete(["pgtrickle", "list", "--format", ""])
    check(set(got) >= {"table", "json", "csv"}, f"completing --format offers {got}")
    got = complete(["pgtrickle", "--"])
    for opt in ("--host", "--format", "--url"):
        check(opt in got or opt + "=" in got, f"completing global options offers {got[:40]}, not {opt}")


@test("cli-completion-names")
def _():
    db = F.database("pgt_complete")
    F.create_st(db, "cmpl_alpha", F.Q_NORTH)
    F.create_st(db, "cmpl_beta", F.Q_SOUTH)
    got = complete(["pgtrickle", "status", ""], db=db)
    check(any(w.endswith("cmpl_alpha") for w in got) and any(w.endswith("cmpl_beta") for w in got),
          f"completing a NAME offers {got[:30]}, not the stream tables cmpl_alpha and cmpl_beta")
    got = complete(["pgtrickle", "refresh", "cmpl_a"], db=db)
    check(any(w.endswith("cmpl_alpha") for w in got) and not any(w.endswith("cmpl_beta") for w in got),
          f"completing 'cmpl_a' offers {got}")
