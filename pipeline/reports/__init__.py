"""HTML reports: Jinja2 pages with Plotly charts, offline and self-contained."""
