#!/usr/bin/env python3
"""Writes the list of tools/layout/hot-functions.txt to stdout; scripts/hot-functions.sh runs it.

Usage: hot-functions.py CALLGRIND_DIR SYMBOLS NATIVE RUSTC_VERSION

CALLGRIND_DIR holds one callgrind output per provider process, named CONFIGURATION.PID; SYMBOLS
lists the function symbols of the executable (nm); NATIVE lists the symbols perf sampled natively,
one per sample line (or is empty). The order: functions that more of the profiled processes ran
come first, so that a process touches as few 64 KiB stretches of code as it can; among equals, the
order in which they first ran. Functions only perf saw (code paths valgrind's CPU does not offer)
follow, the most sampled first.
"""

import collections
import hashlib
import os
import re
import sys

FUNCTION = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")


def functions_run(path):
    """The functions a callgrind output names, in the order they first appear."""
    names, seen, order = {}, set(), []
    with open(path, errors="replace") as output:
        for line in output:
            match = FUNCTION.match(line.rstrip("\n"))
            if not match:
                continue
            number, name = match.groups()
            if name:
                # Callgrind marks recursion levels as name'2.
                names[number] = re.sub(r"'\d+$", "", name)
            name = names.get(number)
            if name and name not in seen:
                seen.add(name)
                order.append(name)
    return order


def sha256(path):
    with open(path, "rb") as contents:
        return hashlib.sha256(contents.read()).hexdigest()


def main():
    callgrind_dir, symbols_path, native_path, rustc_version = sys.argv[1:5]
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(symbols_path) as symbols:
        defined = {line.strip() for line in symbols if line.strip()}

    outputs = sorted(os.listdir(callgrind_dir))
    if not outputs:
        sys.exit("hot-functions: callgrind wrote nothing; did terraform start the provider?")
    processes = collections.Counter()
    first = {}
    for index, output in enumerate(outputs):
        for position, name in enumerate(functions_run(os.path.join(callgrind_dir, output))):
            if name not in defined:
                continue
            processes[name] += 1
            first.setdefault(name, (index, position))
    ordered = sorted(processes, key=lambda name: (-processes[name], first[name]))

    with open(native_path) as native:
        samples = collections.Counter(
            line.strip() for line in native if line.strip() in defined
        )
    listed = set(ordered)
    native_only = [name for name, _ in samples.most_common() if name not in listed]

    print("# The functions a `terraform plan` runs in terraform-provider-atlas, in the order the")
    print("# release link lays them out (build.rs passes this file to lld's --symbol-ordering-file).")
    print("# Written by scripts/hot-functions.sh: do not edit. The names carry hashes of the")
    print("# dependencies, the compiler and the profile; run the script again after changing any of")
    print("# the three below (tests/code_layout.rs checks them).")
    print(f"# rustc: {rustc_version}")
    print(f"# Cargo.toml sha256: {sha256(os.path.join(repo_root, 'Cargo.toml'))}")
    print(f"# Cargo.lock sha256: {sha256(os.path.join(repo_root, 'Cargo.lock'))}")
    print(f"# provider processes profiled under callgrind: {len(outputs)}; functions they ran: "
          f"{len(ordered)}; run only natively (perf): {len(native_only)}")
    for name in ordered + native_only:
        print(name)


if __name__ == "__main__":
    main()
