"""The application: the composition root (``composition``), the configuration, logging set-up,
the demo, status rendering and export. The only place that picks implementations."""
