#!/usr/bin/env python3
"""Content hash of nurture checkpoints, for checking that a refactor or a kernel change left
training bit-identical: sha256 (first 16 hex digits) of `h5dump FILE` without the file name, the
config's output.dir and the `created` / `elapsed_s` attributes, which differ between identical
runs. Needs h5dump (Debian package hdf5-tools; a developer tool, not a dependency of nurture).

usage: scripts/checkpoint_hash.py CHECKPOINT.h5 [...]
"""
import hashlib
import re
import subprocess
import sys

for path in sys.argv[1:]:
    lines = subprocess.run(["h5dump", path], capture_output=True, text=True, check=True).stdout.splitlines()
    keep, skip = [], 0
    for line in lines[1:]:  # the first line names the file
        if re.search(r'ATTRIBUTE "(created|elapsed_s)"', line):
            skip = 10  # the attribute's whole block
        if skip:
            skip -= 1
            continue
        if re.match(r"\s*dir: ", line):
            continue
        keep.append(line)
    print(hashlib.sha256("\n".join(keep).encode()).hexdigest()[:16], path)
