"""Code the native GR00T packages (N1.5, N1.6, N1.7) share, parametrised by what differs."""
