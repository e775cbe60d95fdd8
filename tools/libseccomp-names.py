#!/usr/bin/env python3
"""Writes crates/core/src/target/names.csv: which syscall names each libseccomp release knows,
per architecture, and the number it gives them (names.rs reads it).

Usage: tools/libseccomp-names.py LIBSECCOMP_GIT_DIR > crates/core/src/target/names.csv

It reads src/syscalls.csv at each release tag (2.5.0 and later keep their name
table in that file; 2.6.0 added a kernel-version column after each arch, which
is skipped). A row of the output holds one name's numbers for the releases from
`since` up to, not including, `until`; a name whose numbers change gets a new row.
"""
import subprocess
import sys

TAGS = ["v2.5.0", "v2.5.1", "v2.5.2", "v2.5.3", "v2.5.4", "v2.5.5", "v2.5.6", "v2.6.0", "v2.6.1"]
# Our columns, in order, and the CSV column each reads (COLUMNS and HEADER in
# names.rs; TAGS is its RELEASES).
ARCHES = ["x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32",
          "ppc", "ppc64", "riscv64", "s390", "s390x", "loongarch64"]
PNR = -1


def table(repo, tag):
    text = subprocess.run(["git", "-C", repo, "show", f"{tag}:src/syscalls.csv"],
                          check=True, capture_output=True, text=True).stdout
    lines = text.splitlines()
    header = lines[0].split(",")
    cols = {name: i for i, name in enumerate(header)}
    out = {}
    for line in lines[1:]:
        if not line or line.startswith("#"):
            continue
        f = line.split(",")
        nrs = []
        for arch in ARCHES:
            i = cols.get(arch)
            if i is None:
                nrs.append(None)  # the release does not support the arch
            else:
                nrs.append(PNR if f[i] == "PNR" else int(f[i]))
        out[f[0]] = tuple(nrs)
    return out


def main():
    repo = sys.argv[1]
    tables = [table(repo, t) for t in TAGS]
    # A release without an arch's column does not support the arch at all
    # (`Libseccomp::supports`); take the next release's numbers there, so that
    # rows split only where a supported arch's numbers change.
    for i in reversed(range(len(tables))):
        for name, nrs in tables[i].items():
            later = tables[i + 1].get(name) if i + 1 < len(tables) else None
            tables[i][name] = tuple(
                n if n is not None else (later[j] if later else PNR) for j, n in enumerate(nrs))
    rows = []
    names = sorted(set().union(*tables))
    for name in names:
        start, current = None, None
        for i, t in enumerate(tables + [{}]):
            nrs = t.get(name)
            if nrs != current:
                if current is not None:
                    rows.append((name, start, i, current))
                start, current = i, nrs
    print(",".join(["name", "since", "until"] + ARCHES))
    for name, since, until, nrs in rows:
        print(",".join([name, str(since), str(until)] + [str(n) for n in nrs]))


main()
