"""Accessibility and width checks for the browser tests.

axe-core comes from npm (package.json, installed by `npm ci`) and is injected
into the page under test only: the portal itself never serves it.

    from tests.a11y import assert_accessible, assert_fits
    assert_accessible(page)          # 0 critical, 0 serious axe violations
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits(page)                # nothing wider than the viewport
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def axe_violations(page, *, impacts: tuple[str, ...] = BLOCKING, context: str | None = None) -> list[dict]:
    """axe-core's violations of the given impacts on the page as it is now.

    Each violation is axe's own dict (id, impact, help, nodes with their
    target selectors and failure summaries), so a failing test can say which
    element broke which rule.
    """
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci` (make node_modules/.installed).")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async (context) => {
            const options = {resultTypes: ["violations"]};
            return await axe.run(context ? document.querySelector(context) : document, options);
        }""",
        context,
    )
    return [v for v in results["violations"] if v.get("impact") in impacts]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(
                f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1:]}"
            )
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_accessible(page, *, context: str | None = None) -> None:
    """0 critical and 0 serious axe-core violations on the page (or inside `context`)."""
    violations = axe_violations(page, context=context)
    assert not violations, f"axe-core on {page.url}:\n{describe_violations(violations)}"


def overflow(page) -> dict:
    """How the page's width compares with the viewport, and which elements stick out.

    `scrollWidth <= innerWidth` is what a user notices (no sideways scrolling
    of the page); the elements are listed so a failure says where to look.
    An element inside a box that scrolls or clips on its own does not count.
    """
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const clipped = (el) => {
                // An absolutely positioned element escapes a scrolling box that is not positioned itself.
                const position = getComputedStyle(el).position;
                if (position === "absolute" || position === "fixed") return false;
                for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    const o = getComputedStyle(p).overflowX;
                    if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
                }
                return false;
            };
            const wide = [];
            for (const el of document.body.querySelectorAll("*")) {
                const r = el.getBoundingClientRect();
                // Only the right edge: something off to the left (a skip link) never widens the page.
                if (r.right > width + 1 && r.width > 0 && !clipped(el)) {
                    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                        + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
                    wide.push(`${name} (${Math.round(r.left)}..${Math.round(r.right)})`);
                }
            }
            // Text that runs out of its box (a long word) widens the page without widening any box.
            for (const el of document.body.querySelectorAll("*")) {
                if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible" && !clipped(el)
                    && el.children.length === 0) {
                    wide.push(`text of ${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`);
                }
            }
            return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide: wide.slice(0, 10)};
        }"""
    )


def assert_fits(page) -> None:
    """Nothing makes the page wider than its viewport (run it at PHONE width)."""
    o = overflow(page)
    assert o["scrollWidth"] <= o["innerWidth"], (
        f"{page.url} is {o['scrollWidth']} px wide in a {o['innerWidth']} px viewport; sticking out: {o['wide']}"
    )
