#!/usr/bin/env python3
"""Sums the results of every test case (gtest cases, not just binaries) from
the JUnit files meson writes, and prints the closing line `N passed, N failed`.
Exits 1 when anything failed or nothing ran."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

passed = failed = skipped = 0
for build in sys.argv[1:]:
    junit = Path(build) / "meson-logs" / "testlog.junit.xml"
    if not junit.exists():
        print(f"no test log in {build}", file=sys.stderr)
        failed += 1
        continue
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                print(f"FAILED: {Path(build).name}: {suite.get('name')} {case.get('classname')}.{case.get('name')}")
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
