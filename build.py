#!/usr/bin/env python3
"""Talenten Trotter: build the publications. Run `python build.py --help`."""

from trotter.cli import run

if __name__ == "__main__":
    run()
