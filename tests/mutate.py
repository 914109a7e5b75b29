#!/usr/bin/env python3
"""Proves that each test fails on the defect it guards against.

tests/mutants/*.ini list mutants: one deliberate defect in the source (an
exact text replacement), the test that must catch it, and a regular
expression the test's output must contain when it fails, so that a test
failing for an unrelated reason (a timeout on a loaded machine, a build
error) is not counted as a catch.

A mutant is an ini section:

    [short-name]
    why     = the defect, in words
    test    = t_name (tests/integration/t_name.sh) or test_name (unit)
    file    = src/file.c
    find    = exact text to replace (\\n and \\t are expanded)
    replace = its replacement (<nothing> deletes it)
    count   = how many times `find` occurs (default 1)
    expect  = regular expression the failing test prints
    env     = VAR=value ... for the test (optional, e.g. SOAK_SECS=60)

For each mutant the tracked tree is copied to a temporary directory with
the build directory (so only the mutated file is recompiled), the
replacement is applied (it must match exactly `count` times, 1 unless
stated), the daemons are built, and the test runs against them:

    CAUGHT  the test failed and printed `expect`
    MISSED  the test passed: the defect went unnoticed
    WRONG   the test failed, but not with `expect`
    BROKEN  the mutant does not apply or does not build

Usage: tests/mutate.py [-j N] [--list | --check] [NAME-REGEX]
(make mutate ARGS=...). --check only verifies that every mutant still
applies to today's source (make test runs it, so a code change that moves
a mutant's text is noticed at once). Exit status: 0 when every selected
mutant is CAUGHT (or, with --check, applies).
"""
import argparse
import concurrent.futures
import configparser
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNING = set()		# tests in progress, each in its own process group


def load(path):
    cp = configparser.RawConfigParser(interpolation=None)
    cp.optionxform = str
    with open(path) as f:
        cp.read_file(f)
    mutants = []
    for name in cp.sections():
        m = dict(cp[name])
        for key in ("test", "file", "find", "replace", "expect", "why"):
            if key not in m:
                sys.exit("%s: [%s] has no %s" % (path, name, key))
        m["name"] = name
        m["count"] = int(m.get("count", "1"))
        # env = VAR=value ...: for the test, e.g. a shorter soak.
        m["env"] = dict(kv.split("=", 1) for kv in m.get("env", "").split())
        # configparser strips the value; '\n' and '\t' let a mutant span
        # lines or keep indentation.
        for key in ("find", "replace"):
            m[key] = m[key].replace("\\n", "\n").replace("\\t", "\t")
        if m["replace"] == "<nothing>":
            m["replace"] = ""
        mutants.append(m)
    return mutants


def copy_tree(dst, build):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=TOP, check=True,
                           capture_output=True).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        f = f.decode()
        src = os.path.join(TOP, f)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, f))
    if os.path.isdir(os.path.join(TOP, build)):
        shutil.copytree(os.path.join(TOP, build), os.path.join(dst, build),
                        symlinks=True)


def run_one(m, build):
    d = tempfile.mkdtemp(prefix="tunnel-mutant.")
    try:
        copy_tree(d, build)
        path = os.path.join(d, m["file"])
        with open(path) as f:
            text = f.read()
        n = text.count(m["find"])
        if n != m["count"]:
            return "BROKEN", "found %d times, want %d: %r" % (
                n, m["count"], m["find"])
        with open(path, "w") as f:
            f.write(text.replace(m["find"], m["replace"]))
        # A new mtime, so that make rebuilds the mutated file even when
        # the copy is within the same second as the build.
        t = time.time() + 2
        os.utime(path, (t, t))
        test = m["test"]
        unit = test.startswith("test_")
        targets = ["%s/%s" % (build, test)] if unit else [
            "%s/tunnel-server" % build, "%s/tunnel-client" % build,
            "%s/tunnel-acme" % build]
        b = subprocess.run(["make", "-s", "BUILD=" + build] + targets,
                           cwd=d, capture_output=True, text=True)
        if b.returncode != 0:
            return "BROKEN", "build failed:\n" + b.stdout + b.stderr
        env = dict(os.environ, BUILD=build, **m["env"])
        cmd = ([os.path.join(d, build, test)] if unit else
               ["timeout", "900", "bash",
                os.path.join(d, "tests", "integration", test + ".sh")])
        start = time.time()
        # Its own process group: if we are stopped, so is everything the
        # test started (daemons, helpers), not left running on its ports.
        p = subprocess.Popen(cmd, cwd=d, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        RUNNING.add(p)
        try:
            out = p.communicate()[0]
        finally:
            RUNNING.discard(p)
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
        r = subprocess.CompletedProcess(cmd, p.returncode)
        secs = time.time() - start
        if r.returncode == 0:
            return "MISSED", "%s passed (%.0f s)" % (test, secs)
        if r.returncode == 77:
            return "WRONG", "%s skipped: %s" % (test, out.strip()[-300:])
        if not re.search(m["expect"], out):
            # What the test said it failed on, then the tail of its logs.
            said = "\n".join(ln for ln in out.splitlines()
                             if re.match(r"\s*FAIL", ln))[:600]
            return "WRONG", "%s failed without /%s/ (%.0f s):\n%s\n%s" % (
                test, m["expect"], secs, said, out[-900:])
        hit = re.search(m["expect"], out).group(0)
        return "CAUGHT", "%s: %s (%.0f s)" % (test, hit.strip()[:120], secs)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    # Stopped (Ctrl-C, SIGTERM): stop the tests' process groups too, so
    # that each run_one() returns and removes its copy of the tree.
    def stop(signo, _frame):
        for p in list(RUNNING):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
        sys.exit(128 + signo)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=1,
                    help="mutants run at once (tests are timing-"
                    "sensitive: keep 1 on a 2-core machine)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--check", action="store_true",
                    help="only check that each mutant applies")
    ap.add_argument("pattern", nargs="?", default="")
    a = ap.parse_args()
    build = os.environ.get("BUILD", "build")
    mutants = []
    names = set()
    for ini in sorted(glob.glob(os.path.join(TOP, "tests", "mutants",
                                             "*.ini"))):
        for m in load(ini):
            if m["name"] in names:
                sys.exit("%s: mutant [%s] defined twice" % (ini, m["name"]))
            names.add(m["name"])
            if re.search(a.pattern, m["name"] + " " + m["test"]):
                mutants.append(m)
    if a.list:
        for m in mutants:
            print("%-28s %-22s %s" % (m["name"], m["test"], m["why"]))
        return 0
    if not mutants:
        sys.exit("no mutant matches %r" % a.pattern)
    if a.check:
        bad = 0
        for m in mutants:
            test = m["test"]
            where = ("tests/unit/%s.c" % test if test.startswith("test_")
                     else "tests/integration/%s.sh" % test)
            try:
                with open(os.path.join(TOP, m["file"])) as f:
                    n = f.read().count(m["find"])
            except OSError as e:
                n = -1
                print("%s: %s" % (m["name"], e))
            if n != m["count"]:
                bad += 1
                print("%s: `find` occurs %d times in %s, want %d" % (
                    m["name"], n, m["file"], m["count"]))
            if not os.path.exists(os.path.join(TOP, where)):
                bad += 1
                print("%s: no test %s" % (m["name"], where))
        print("%d mutants, %d do not apply" % (len(mutants), bad))
        return 1 if bad else 0
    counts = {}
    with concurrent.futures.ThreadPoolExecutor(a.j) as ex:
        futs = {ex.submit(run_one, m, build): m for m in mutants}
        for f in concurrent.futures.as_completed(futs):
            m = futs[f]
            verdict, detail = f.result()
            counts[verdict] = counts.get(verdict, 0) + 1
            print("%-7s %-28s %s" % (verdict, m["name"],
                                     detail.replace("\n", "\n        ")),
                  flush=True)
    print("%d caught, %d missed, %d wrong, %d broken" % tuple(
        counts.get(k, 0) for k in ("CAUGHT", "MISSED", "WRONG", "BROKEN")))
    return 0 if counts.get("CAUGHT", 0) == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
