"""Print one `N passed, N failed, N skipped` line from the JUnit XML reports that `pants test --report` writes."""

import glob
import sys
import xml.etree.ElementTree as ET


def main(folder: str) -> int:
    passed = failed = skipped = 0
    for path in glob.glob(f"{folder}/**/*.xml", recursive=True):
        root = ET.parse(path).getroot()
        for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
            tests, fail, err, skip = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
            passed += tests - fail - err - skip
            failed += fail + err
            skipped += skip
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/test/reports"))
