#!/usr/bin/env python3
"""Import circles between the files of a Rust crate, and files too long before their tests.

Usage: circles.py [--max-lines N] SRC_DIR...   (each a crate's `src` folder)

Exits 1 and prints each circle (and each long file) when there is one; prints one summary line
per crate otherwise. docs/design.md ("Checking the layout") says why these rules and how.

The rule, at the level of files: file A depends on file B when A's code names something defined
in B: a private `use`, or a qualified path in code (`crate::…`, `super::…`, `self::…`, or a child
module's name). A path is followed through `pub use` re-exports to the file that defines the
item, so a facade (`lib.rs` or a `mod.rs` re-exporting its children) is not itself a dependency,
and `mod x;` declarations are not edges. Test modules (`#[cfg(test)] mod …` to the end of the
file) do not count. It reads text, not the compiler's view: macros and `#[path]` are not
followed, which is fine for this repository (none of its crates use `#[path]`).
"""

import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text):
    """The code without comments, string literals and the trailing test module."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            out.append('""')
            i = n if end < 0 else end + 1 + len(hashes)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    m = re.search(r"^#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s", code, re.M)
    return code[: m.start()] if m else code


def expand(tree):
    """`a::{b, c::{d as e, *}}` -> [(['a','b'], 'b'), (['a','c','d'], 'e'), (['a','c','*'], '*')]."""
    tree = re.sub(r"\s+", "", tree)
    results = []

    def walk(prefix, s):
        depth, parts, start = 0, [], 0
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        for part in parts:
            if not part:
                continue
            brace = part.find("{")
            if brace >= 0:
                head = [p for p in part[:brace].split("::") if p]
                walk(prefix + head, part[brace + 1: part.rfind("}")])
                continue
            alias = None
            if "as" in part and re.match(rf"^.*[A-Za-z0-9_*]as{IDENT}$", part):
                m = re.match(rf"^(.*?)as({IDENT})$", part)
                if m and not m.group(1).endswith("::"):
                    part, alias = m.group(1), m.group(2)
            segs = [p for p in part.split("::") if p]
            if segs == ["self"]:
                segs = []
            full = prefix + segs
            if full:
                results.append((full, alias or full[-1]))

    walk([], tree)
    return results


USE = re.compile(r"(?P<vis>pub(\s*\([^)]*\))?\s+)?use\s+(?P<tree>[^;]+);")


class Crate:
    def __init__(self, src):
        self.src = os.path.normpath(src)
        self.files = {}  # module path tuple -> file
        for root, _, names in os.walk(self.src):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                rel = os.path.relpath(os.path.join(root, name), self.src)
                parts = rel[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib", "main"):
                    parts = parts[:-1]
                if len(parts) == 0 and name == "main.rs" and os.path.exists(os.path.join(self.src, "lib.rs")):
                    continue  # a binary beside a library is its own crate
                if parts and parts[0] == "bin":
                    continue
                self.files[tuple(parts)] = os.path.join(root, name)
        self.code = {m: strip(open(f, encoding="utf-8").read()) for m, f in self.files.items()}
        self.reexports = {m: {} for m in self.files}
        self.uses = {m: [] for m in self.files}
        for m, code in self.code.items():
            for u in USE.finditer(code):
                for path, name in expand(u.group("tree")):
                    if u.group("vis"):
                        self.reexports[m][name] = path
                    else:
                        self.uses[m].append(path)

    def children(self, m):
        return {k[-1] for k in self.files if len(k) == len(m) + 1 and k[: len(m)] == m}

    def absolute(self, m, path):
        """A path as written in module `m` -> absolute segments, or None (another crate)."""
        if not path:
            return None
        head = path[0]
        if head == "crate":
            return list(path[1:])
        if head == "self":
            return list(m) + list(path[1:])
        if head == "super":
            base, rest = list(m), list(path)
            while rest and rest[0] == "super":
                if not base:
                    return None
                base, rest = base[:-1], rest[1:]
            return base + rest
        if head in self.children(m):
            return list(m) + list(path)
        return None

    def resolve(self, segs, guard=0):
        """Absolute segments -> the file module that defines the item (None: another crate)."""
        m = ()
        rest = list(segs)
        while rest and guard < 20:
            name = rest[0]
            if m + (name,) in self.files:
                m, rest = m + (name,), rest[1:]
                continue
            target = self.reexports.get(m, {}).get(name)
            if target is not None:
                absolute = self.absolute(m, target)
                if absolute is None:
                    return None
                return self.resolve(absolute + rest[1:], guard + 1)
            break
        return m

    def edges(self):
        graph = {m: set() for m in self.files}
        for m, code in self.code.items():
            paths = list(self.uses[m])
            body = USE.sub("", code)
            heads = ["crate", "super", "self"] + sorted(self.children(m))
            pattern = rf"(?<![A-Za-z0-9_:])((?:{'|'.join(heads)})(?:::{IDENT})+)"
            for q in re.finditer(pattern, body):
                paths.append(q.group(1).split("::"))
            for p in paths:
                absolute = self.absolute(m, p)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target is not None and target != m and target in self.files:
                    graph[m].add(target)
        return graph


def circles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def lines_before_tests(path):
    count = 0
    for line in open(path, encoding="utf-8"):
        if line.startswith("#[cfg(test)]"):
            break
        count += 1
    return count


def main(argv):
    max_lines = 450
    if argv[:1] == ["--max-lines"]:
        max_lines, argv = int(argv[1]), argv[2:]
    if not argv:
        print(__doc__)
        return 2
    bad = 0
    for src in argv:
        crate = Crate(src)
        graph = crate.edges()
        name = lambda m: os.path.relpath(crate.files[m], os.path.dirname(crate.src))
        found = circles(graph)
        for comp in found:
            bad += 1
            print(f"circle in {crate.src}:")
            for m in comp:
                deps = [name(t) for t in sorted(graph[m]) if t in comp]
                print(f"  {name(m)} -> {', '.join(deps)}")
        long = [(lines_before_tests(f), f) for f in crate.files.values()]
        long = sorted((n, f) for n, f in long if n > max_lines)
        for n, f in long:
            bad += 1
            print(f"{f}: {n} lines before its tests (at most {max_lines})")
        if not found and not long:
            edges = sum(len(v) for v in graph.values())
            print(f"{crate.src}: {len(crate.files)} files, {edges} dependencies between them, no circle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
