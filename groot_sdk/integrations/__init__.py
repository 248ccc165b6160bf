"""Adapters to other control stacks. Each imports its counterpart lazily, on first use."""
