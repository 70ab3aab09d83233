"""Interactive charts (Plotly) that work with no network, beside the static matplotlib
PNGs the notebooks save for reports (analysts, SPEC section 1): like every page of the
project, a chart opens from disk with no network.

In a notebook, plotly.js itself goes into the output once (Plotly's "notebook" renderer
with connected=False, not a CDN link), so the executed notebook and its HTML export open
offline; "plotly_mimetype" lets JupyterLab draw the figure with its bundled plotly
extension. Plotly's own notebook renderer also adds a MathJax <script> from a CDN to every
figure (for LaTeX labels, unused here), so the renderer registered below leaves it out.
Saved charts are one self-contained HTML file each (plotly.js inlined), with a fixed
element id so a re-run writes the same bytes for the same data.
"""

from __future__ import annotations

from pathlib import Path

OFFLINE_RENDERER_NAME = "notebook_offline"
OFFLINE_RENDERER = f"plotly_mimetype+{OFFLINE_RENDERER_NAME}"


def _offline_notebook_renderer():
    """Plotly's notebook renderer (plotly.js inlined once by its activation), each figure
    rendered without the MathJax CDN script."""
    from plotly.io import to_html
    from plotly.io._base_renderers import NotebookRenderer

    class OfflineNotebookRenderer(NotebookRenderer):
        def to_mimebundle(self, fig_dict):
            html = to_html(
                fig_dict,
                config=self.config,
                include_plotlyjs=False,  # already on the page, from the activation
                include_mathjax=False,
                full_html=False,
                default_width="100%",
                default_height=525,
                validate=False,
            )
            return {"text/html": html}

    return OfflineNotebookRenderer(connected=False)


def use_offline_renderer() -> None:
    """Show Plotly figures in the notebook without any network access."""
    import plotly.io as pio

    if OFFLINE_RENDERER_NAME not in pio.renderers:
        pio.renderers[OFFLINE_RENDERER_NAME] = _offline_notebook_renderer()
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
