"""The gate's checks as JUnit XML, one test case per check, for CI test-report viewers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.gate import GateResult, percentile_provenance


def junit_tree(result: GateResult) -> ET.ElementTree[ET.Element]:
    checks = result.checks
    suite_counts = {
        "tests": str(len(checks)),
        "failures": str(len(result.failed)),
        "errors": "0",
        "skipped": str(sum(check.status == "skip" for check in checks)),
    }
    suites = ET.Element("testsuites", {"name": "loadcap gate", **suite_counts})
    suite = ET.SubElement(suites, "testsuite", {"name": "loadcap gate", **suite_counts})
    properties = ET.SubElement(suite, "properties")
    facts = {"run_dir": str(result.run.run_dir), "percentiles": percentile_provenance(result.run)}
    if result.options.baseline is not None:
        facts["baseline_dir"] = str(result.options.baseline.run_dir)
    for name, value in facts.items():
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"loadcap.gate.{check.kind}", "name": check.name, "time": "0"},
        )
        text = f"measured {check.measured}, allowed {check.allowed}"
        if check.note:
            text += f" [{check.note}]"
        if check.status == "fail":
            ET.SubElement(case, "failure", {"message": text, "type": check.kind}).text = text
        elif check.status == "skip":
            ET.SubElement(case, "skipped", {"message": check.note})
        else:
            ET.SubElement(case, "system-out").text = text
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(result: GateResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(result).write(path, encoding="utf-8", xml_declaration=True)
