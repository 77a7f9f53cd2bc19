"""A verify report as JUnit XML, for CI: pure, data → string."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from pi_k8s.verify.model import FAIL, SKIP, WARN, CheckResult, VerifyReport


def to_junit(report: VerifyReport) -> str:
    """JUnit XML: one testsuite per host, one testcase per check."""
    root = ET.Element("testsuites", name="pi-k8s verify")
    by_host: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_host.setdefault(r.host, []).append(r)
    for host, results in by_host.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=host,
            tests=str(len(results)),
            failures=str(sum(r.status == FAIL for r in results)),
            skipped=str(sum(r.status == SKIP for r in results)),
        )
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=host, name=r.name)
            if r.status == FAIL:
                ET.SubElement(case, "failure", message=r.detail).text = r.hint
            elif r.status == SKIP:
                ET.SubElement(case, "skipped", message=r.detail)
            elif r.status == WARN:
                ET.SubElement(case, "system-out").text = f"warning: {r.detail}. {r.hint}"
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
