"""Web plumbing shared by every blueprint: headers, throttles, templates, forms, static
files, compression, CSV exports and the health check. It knows no feature."""
