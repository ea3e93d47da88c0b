"""The one-command demo: a synthetic motion dataset and its helpers.

Not imported by ``cakes_mm`` itself; ``tools/demo/run_demo.py`` uses it.
"""
