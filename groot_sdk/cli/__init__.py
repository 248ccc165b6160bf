"""The groot command-line interface."""
