"""SDK plumbing: the span processor, provider set-up, batching, exporters and files."""
