"""Interactive charts (Plotly) that work with no network, beside the static matplotlib
PNGs the notebooks save for reports (issue 16).

In a notebook, the "notebook" renderer puts plotly.js itself into the output once (not a
CDN link), so the executed notebook and its HTML export open offline; "plotly_mimetype"
lets JupyterLab draw the figure with its bundled plotly extension. Saved charts are one
self-contained HTML file each (plotly.js inlined), with a fixed element id so a re-run
writes the same bytes for the same data.
"""

from __future__ import annotations

from pathlib import Path

OFFLINE_RENDERER = "plotly_mimetype+notebook"


def use_offline_renderer() -> None:
    """Show Plotly figures in the notebook without any network access."""
    import plotly.io as pio

    pio.renderers.default = OFFLINE_RENDERER


def save_interactive(fig, output_dir, name: str) -> Path:
    """Write FIG as OUTPUT_DIR/NAME, one HTML file with plotly.js inlined; return the path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.write_html(
        path,
        include_plotlyjs=True,
        full_html=True,
        div_id=Path(name).stem.replace(".", "_"),
        config={"displaylogo": False},
    )
    return path
