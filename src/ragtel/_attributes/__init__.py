"""Pure attribute builders: domain values in, flat OTel attribute dicts out."""
