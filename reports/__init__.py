"""exabench.reports: renders Runs, Plans and comparisons as HTML, Markdown and PNG/SVG charts.
Altair lives here and nowhere else."""
