"""Reports of measured runs: self-contained HTML with inline SVG plots (no external JS or CSS)."""
