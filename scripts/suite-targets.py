#!/usr/bin/env python3
"""Prints the ninja targets (build-relative paths) of the executables that the
tests of one meson suite run, so a build can compile just those.
Usage: suite-targets.py BUILD_DIR SUITE"""
import json
import os
import subprocess
import sys

build, suite = sys.argv[1], sys.argv[2]
tests = json.loads(subprocess.check_output(["meson", "introspect", build, "--tests"]))
targets = set()
for t in tests:
    if any(s.split(":")[-1] == suite for s in t.get("suite", [])):
        exe = t["cmd"][0]
        if exe.startswith(os.path.abspath(build)):
            targets.add(os.path.relpath(exe, os.path.abspath(build)))
print("\n".join(sorted(targets)))
