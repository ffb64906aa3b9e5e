#!/usr/bin/env python3
"""Keeps hallq's import direction: every file imports only from its own layer or below, the edges
never import each other, and no files import each other in a circle (docs/architecture.md).

Reads src/**/*.rs, finds each file's imports of other hallq modules (`use crate::…`, `use super::…`,
`use self::…`, `use child::…`, and the same paths written inline in code; `mod` declarations are not
imports), maps each file to a layer by the table below and reports:

    file:line: imports X (layer A -> layer B)
    circle: file -> file -> … -> file

Known violations live in scripts/layers-allowed.txt. A violation or circle member missing from that
list fails the check (exit 1); so does an entry of the list that no longer occurs, so the list only
shrinks. `--write-allowed` rewrites the list from today's tree; `--self-test` runs built-in cases.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------------------------------------------
# The layers, bottom (0) to top. A file may import its own layer or any lower rank. Layers marked as
# edges share a rank and may not import one another.

LAYERS: dict[str, tuple[int, bool]] = {
    # name: (rank, is_edge)
    "leaf": (0, False),  # identity, lang, clock, config: used by all, import only each other
    "queue": (1, False),  # pure domain, no I/O
    "store": (2, False),  # SQLite: schema, event log, projection
    "engine": (3, False),  # the single writer
    "ports": (4, False),  # the traits the edges meet on
    "ui": (5, True),
    "lan": (5, True),
    "platform": (5, True),
    "devices": (5, True),
    "buttons": (5, True),
    "voice": (5, True),
    "node": (6, False),  # composition root: assembles one board
    "cli": (7, False),  # the hallq subcommands
}

# Today's files mapped to the target layers; the longest matching prefix wins. A file that matches
# nothing fails the check, so every new module is placed on purpose.
FILE_LAYERS: list[tuple[str, str]] = [
    ("src/identity.rs", "leaf"),  # target: ID hashing and masking in one place
    ("src/identity/", "leaf"),
    ("src/lang.rs", "leaf"),  # target: languages and localized text
    ("src/lang/", "leaf"),
    ("src/clock.rs", "leaf"),
    ("src/retry.rs", "leaf"),  # the waits between tries of the hall node, for lan and node alike
    ("src/config/", "leaf"),
    ("src/queue/", "queue"),
    ("src/store/", "store"),
    ("src/engine.rs", "engine"),
    ("src/engine/", "engine"),
    ("src/ports.rs", "ports"),
    ("src/sink.rs", "ports"),  # CommandSink: where commands go, engine or LAN
    ("src/ui/", "ui"),  # the Rust side of the screens
    ("src/lan/", "lan"),
    ("src/platform/", "platform"),
    ("src/devices/", "devices"),
    ("src/buttons/", "buttons"),
    ("src/voice/", "voice"),
    ("src/node/", "node"),
    ("src/bench/", "node"),  # `hallq bench` drives every part
    ("src/lib.rs", "cli"),  # crate root: only `mod` declarations
    ("src/main.rs", "cli"),
    ("src/cli/", "cli"),
]

# The library's name: `hallq::…` in src/main.rs means the library crate's root.
CRATE_NAME = "hallq"

DEFAULT_ALLOWED = "scripts/layers-allowed.txt"

# ---------------------------------------------------------------------------------------------------


def layer_of(rel: str) -> str | None:
    best = None
    for prefix, layer in FILE_LAYERS:
        if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return best[1] if best else None


def module_path_of(rel: str) -> tuple[str, ...]:
    """src/lib.rs -> (), src/a.rs -> (a,), src/a/mod.rs -> (a,), src/a/b.rs -> (a, b)."""
    parts = rel.removeprefix("src/").removesuffix(".rs").split("/")
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


LEXEME = re.compile(r"""//|/\*|(?<![\w$])b?r#*"|(?<![\w$])b?"|'""")
RAW_STRING = re.compile(r'b?r(#*)"')
PLAIN_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*', re.S)
BLOCK_COMMENT_MARK = re.compile(r"/\*|\*/")
BRACE = re.compile(r"[{}]")
NOT_NEWLINE = re.compile(r"[^\n]")


def strip_code(text: str) -> str:
    """Blanks comments, strings and char literals, keeping every newline so lines still count."""
    out: list[str] = []
    i, n = 0, len(text)

    def blank(s: str) -> str:
        return NOT_NEWLINE.sub(" ", s)

    while i < n:
        m = LEXEME.search(text, i)
        if m is None:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        i, token = m.start(), m.group()
        if token == "//":
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif token == "/*":
            depth, j = 1, i + 2
            while j < n and depth:
                nxt = BLOCK_COMMENT_MARK.search(text, j)
                if nxt is None:
                    j = n
                    break
                depth += 1 if nxt.group() == "/*" else -1
                j = nxt.end()
        elif "r" in token:
            raw = RAW_STRING.match(text, i)
            end = text.find('"' + raw.group(1), raw.end())
            j = n if end < 0 else end + 1 + len(raw.group(1))
        elif token.endswith('"'):
            body = PLAIN_STRING_BODY.match(text, i + len(token))
            j = min(n, body.end() + 1)
        else:  # a char literal, or a lifetime or label
            if text.startswith("\\", i + 1):
                j = text.find("'", i + 3)
                j = n if j < 0 else j + 1
            elif i + 2 < n and text[i + 2] == "'":
                j = i + 3
            else:
                out.append("'")
                i += 1
                continue
        out.append(blank(text[i:j]))
        i = j
    return "".join(out)


@dataclass
class Span:
    start: int
    end: int
    name: str
    test: bool


def inline_modules(code: str) -> list[Span]:
    """`mod name { … }` blocks, so that `super::` inside them resolves to the right module."""
    spans = []
    for m in re.finditer(r"(?<![\w$])mod\s+(\w+)\s*\{", code):
        depth, j = 1, m.end()
        for brace in BRACE.finditer(code, m.end()):
            depth += 1 if brace.group() == "{" else -1
            if depth == 0:
                j = brace.end()
                break
        else:
            j = len(code)
        before = code[max(0, m.start() - 200) : m.start()]
        test = bool(re.search(r"#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*(pub(\([^)]*\))?\s*)?$", before))
        spans.append(Span(m.start(), j, m.group(1), test))
    return spans


def scope_at(pos: int, spans: list[Span]) -> tuple[tuple[str, ...], bool]:
    names, test = [], False
    for s in spans:  # in source order, so outer blocks come first
        if s.start < pos < s.end:
            names.append(s.name)
            test = test or s.test
    return tuple(names), test


def expand_use_tree(tree: str) -> list[list[str]]:
    """`a::{b, c::{self, d as e}, *}` -> [[a,b], [a,c], [a,c,d], [a]] (globs keep their prefix)."""
    tokens = re.findall(r"::|\w+|[{},*]", tree)
    pos = 0

    def parse(prefix: list[str]) -> list[list[str]]:
        nonlocal pos
        path = list(prefix)
        while pos < len(tokens):
            t = tokens[pos]
            if t == "::":
                pos += 1
            elif t == "{":
                pos += 1
                paths = []
                while pos < len(tokens) and tokens[pos] != "}":
                    if tokens[pos] == ",":
                        pos += 1
                        continue
                    paths += parse(path)
                pos += 1
                return paths
            elif t == "*":
                pos += 1
                return [path]
            elif t == "as":
                pos += 2
                return [path]
            elif t in (",", "}"):
                return [path]
            elif t == "self" and path:
                pos += 1
            else:
                path.append(t)
                pos += 1
        return [path]

    return parse([])


@dataclass
class Import:
    file: str
    line: int
    target: tuple[str, ...]  # module path of the imported file
    test: bool


@dataclass
class Tree:
    root: Path
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)  # rel path -> module path
    modules: dict[tuple[str, ...], str] = field(default_factory=dict)  # module path -> rel path


def load_tree(root: Path) -> Tree:
    tree = Tree(root)
    for path in sorted((root / "src").rglob("*.rs")):
        rel = path.relative_to(root).as_posix()
        mod = module_path_of(rel)
        tree.files[rel] = mod
        if rel != "src/main.rs":
            tree.modules[mod] = rel
    return tree


def resolve(path: list[str], current: tuple[str, ...], tree: Tree, own: str) -> tuple[str, ...] | None:
    """The module path of the hallq file a path points into, or None for other crates."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    if head == "crate":
        base: tuple[str, ...] = ()
        if own == "src/main.rs":
            return None  # the binary's own crate holds nothing but main.rs
    elif head == CRATE_NAME:
        base = ()
    elif head in ("super", "self"):
        base = current
        while path and path[0] in ("super", "self"):
            if path[0] == "super":
                base = base[:-1]
            path = path[1:]
        rest = path
    elif current + (head,) in tree.modules:
        base, rest = current, path  # a child module, in scope by its name
    else:
        return None
    full = base + tuple(rest)
    for k in range(len(full), -1, -1):
        if full[:k] in tree.modules:
            return full[:k]
    return None


USE_RE = re.compile(r"(?<![\w$])use\s+(?!<)")
# A path written in code that starts at a name which can lead into hallq (filled in per file).
PATH_RE = r"(?<![\w$:.])((?:{})\s*::(?:\s*\w+\s*::)*\s*\w+)"


def imports_of(rel: str, tree: Tree) -> list[Import]:
    text = (tree.root / rel).read_text(encoding="utf-8")
    code = strip_code(text)
    spans = inline_modules(code)
    file_mod = tree.files[rel]
    found: list[Import] = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", code)]

    def add(pos: int, segments: list[str]) -> None:
        inner, test = scope_at(pos, spans)
        current = file_mod + inner
        target = resolve(segments, current, tree, rel)
        if target is None or tree.modules.get(target) == rel:
            return
        found.append(Import(rel, bisect.bisect_right(line_starts, pos), target, test))

    pieces, done = [], 0
    for m in USE_RE.finditer(code):
        end = code.find(";", m.end())
        if end < 0 or m.start() < done:
            continue
        for segments in expand_use_tree(code[m.end() : end]):
            add(m.start(), [s for s in segments if s])
        pieces += [code[done : m.start()], NOT_NEWLINE.sub(" ", code[m.start() : end])]
        done = end
    rest = "".join(pieces) + code[done:]
    heads = {"crate", "super", "self", CRATE_NAME}
    heads |= {m[-1] for m in tree.modules if len(m) == len(file_mod) + 1 and m[:-1] == file_mod}
    path_re = re.compile(PATH_RE.format("|".join(sorted(heads))))
    for m in path_re.finditer(rest):
        segments = [s.strip() for s in m.group(1).split("::")]
        add(m.start(), segments[:-1] if len(segments) > 1 else segments)
    # One report per file, line and target.
    unique: dict[tuple[int, tuple[str, ...]], Import] = {}
    for imp in found:
        unique.setdefault((imp.line, imp.target), imp)
    return sorted(unique.values(), key=lambda i: (i.line, i.target))


def mod_name(target: tuple[str, ...]) -> str:
    return "::".join(target) if target else "crate"


@dataclass
class Report:
    violations: list[tuple[Import, str, str]]  # import, from layer, to layer
    circles: list[list[str]]  # each a list of files, in a path order
    circle_edges: dict[str, list[tuple[str, int]]]
    scc_of: dict[str, list[str]]  # file -> the files of its circle knot
    unmapped: list[str]


def check_tree(root: Path) -> Report:
    tree = load_tree(root)
    violations = []
    unmapped = []
    graph: dict[str, set[str]] = {f: set() for f in tree.files}
    lines: dict[tuple[str, str], int] = {}
    for rel in tree.files:
        src_layer = layer_of(rel)
        if src_layer is None:
            unmapped.append(rel)
            continue
        for imp in imports_of(rel, tree):
            target_file = tree.modules[imp.target]
            graph[rel].add(target_file)
            lines.setdefault((rel, target_file), imp.line)
            dst_layer = layer_of(target_file)
            if dst_layer is None:
                continue
            (src_rank, src_edge), (dst_rank, dst_edge) = LAYERS[src_layer], LAYERS[dst_layer]
            upward = dst_rank > src_rank
            across = src_edge and dst_edge and src_layer != dst_layer
            if upward or across:
                violations.append((imp, src_layer, dst_layer))
    circles = []
    circle_edges: dict[str, list[tuple[str, int]]] = {}
    scc_of: dict[str, list[str]] = {}
    for scc in strongly_connected(graph):
        if len(scc) < 2:
            continue
        members = set(scc)
        cycle = a_cycle_through(sorted(scc)[0], graph, members)
        circles.append(cycle)
        for f in sorted(scc):
            scc_of[f] = scc
            circle_edges[f] = sorted((t, lines[(f, t)]) for t in graph[f] if t in members)
    circles.sort()
    return Report(violations, circles, circle_edges, scc_of, unmapped)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so deep chains cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                scc = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    scc.append(w)
                    if w == node:
                        break
                result.append(sorted(scc))
    return result


def a_cycle_through(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A shortest path start -> … -> start inside one strongly connected set, for the message."""
    prev: dict[str, str] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if child not in seen:
                    seen.add(child)
                    prev[child] = node
                    nxt.append(child)
        frontier = nxt
    return [start]


# ---------------------------------------------------------------------------------------------------
# The allow-list: `file -> module` for a violation, `circle member: file` for a file in a circle.


def entries_of(report: Report) -> set[str]:
    entries = {f"{imp.file} -> {mod_name(imp.target)}" for imp, _, _ in report.violations}
    entries |= {f"circle member: {f}" for f in report.circle_edges}
    return entries


def read_allowed(path: Path) -> set[str]:
    if not path.exists():
        return set()
    entries = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.add(line)
    return entries


ALLOWED_HEADER = """\
# Known breaks of the import direction (docs/architecture.md), kept so that no new one slips in.
# `file -> module`: the file imports the module against the layer rules.
# `circle member: file`: the file belongs to a circle of imports.
# scripts/check_layers.py fails on a break missing here and on a line here that no longer occurs;
# remove lines as the moves land, regenerate with `python3 scripts/check_layers.py --write-allowed`.
"""


def write_allowed(path: Path, report: Report) -> None:
    path.write_text(ALLOWED_HEADER + "".join(e + "\n" for e in sorted(entries_of(report))), encoding="utf-8")


def run(root: Path, allowed_path: Path, out=sys.stdout) -> int:
    report = check_tree(root)
    allowed = read_allowed(allowed_path)
    failed = False
    for rel in report.unmapped:
        print(f"{rel}: not in any layer: add it to FILE_LAYERS in scripts/check_layers.py", file=out)
        failed = True
    for imp, a, b in report.violations:
        key = f"{imp.file} -> {mod_name(imp.target)}"
        mark = "" if key in allowed else "  [NEW]"
        test = " [test code]" if imp.test else ""
        print(f"{imp.file}:{imp.line}: imports {mod_name(imp.target)} ({a} -> {b}){test}{mark}", file=out)
        failed = failed or key not in allowed
    for cycle in report.circles:
        new = [f for f in cycle[:-1] if f"circle member: {f}" not in allowed]
        mark = f"  [NEW: {', '.join(new)}]" if new else ""
        size = len(report.scc_of[cycle[0]])
        whole = "" if size == len(cycle) - 1 else f" (one path through a knot of {size} files)"
        print(f"circle: {' -> '.join(cycle)}{whole}{mark}", file=out)
        failed = failed or bool(new)
    for f in sorted(report.circle_edges):
        if f"circle member: {f}" not in allowed:
            for target, line in report.circle_edges[f]:
                print(f"  {f}:{line}: imports {module_path_text(target)} (in a circle)", file=out)
    stale = sorted(allowed - entries_of(report))
    for entry in stale:
        print(f"{allowed_path.name}: `{entry}` no longer occurs: remove it", file=out)
    failed = failed or bool(stale)
    n_members = len(report.circle_edges)
    print(
        f"{len(report.violations)} imports against the layers in "
        f"{len({(i.file, i.target) for i, _, _ in report.violations})} file -> module pairs, "
        f"{len(report.circles)} circles over {n_members} files; "
        + ("FAILED (new breaks or stale allow-list lines above)" if failed else "no new breaks"),
        file=out,
    )
    return 1 if failed else 0


def module_path_text(rel: str) -> str:
    return mod_name(module_path_of(rel))


# ---------------------------------------------------------------------------------------------------


def self_test() -> int:
    import io

    base = {
        "src/lib.rs": "pub mod clock;\npub mod queue;\npub mod store;\npub mod ui;\npub mod devices;\n",
        "src/clock.rs": "pub struct Clock;\n",
        "src/queue/mod.rs": "use crate::clock::Clock;\npub struct Command;\n",
        "src/store/mod.rs": "use crate::queue::Command;\n// use crate::ui::Screen; a comment\n"
        'const S: &str = "crate::ui::x";\n',
        "src/ui/mod.rs": "mod kiosk;\nuse crate::store::Outcome;\npub struct Screen;\n",
        "src/ui/kiosk.rs": "use super::Screen;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        "src/devices/mod.rs": "pub fn open() { crate::clock::Clock; }\n",
    }
    cases = [
        ("a clean tree passes", {}, None, 0, []),
        (
            "an upward import is reported",
            {"src/queue/mod.rs": "use crate::{clock::Clock, devices::open};\n"},
            None,
            1,
            ["src/queue/mod.rs:1: imports devices (queue -> devices)  [NEW]"],
        ),
        (
            "an edge importing another edge is reported, inline paths too",
            {"src/devices/mod.rs": "pub fn open() {\n    let _ = crate::ui::Screen;\n}\n"},
            None,
            1,
            ["src/devices/mod.rs:2: imports ui (devices -> ui)  [NEW]"],
        ),
        (
            "a circle is reported",
            {"src/clock.rs": "use crate::config::Setup;\n", "src/config/mod.rs": "use crate::clock::Clock;\n"},
            None,
            1,
            ["circle: src/clock.rs -> src/config/mod.rs -> src/clock.rs  [NEW: src/clock.rs, src/config/mod.rs]"],
        ),
        (
            "an allowed violation passes",
            {"src/queue/mod.rs": "use crate::devices::open;\n"},
            "src/queue/mod.rs -> devices\n",
            0,
            ["src/queue/mod.rs:1: imports devices (queue -> devices)"],
        ),
        (
            "a stale allow-list entry fails",
            {},
            "src/queue/mod.rs -> devices\n",
            1,
            ["layers-allowed.txt: `src/queue/mod.rs -> devices` no longer occurs: remove it"],
        ),
        (
            "super:: climbs from a file in a folder to the folder's module",
            {"src/devices/printer.rs": "use super::super::ui::Screen;\n", "src/devices/mod.rs": "mod printer;\n"},
            None,
            1,
            ["src/devices/printer.rs:1: imports ui (devices -> ui)  [NEW]"],
        ),
        (
            "a file outside the layer table fails",
            {"src/gadget.rs": "pub fn f() {}\n"},
            None,
            1,
            ["src/gadget.rs: not in any layer: add it to FILE_LAYERS in scripts/check_layers.py"],
        ),
    ]
    failures = 0
    started = time.perf_counter()
    for name, changes, allowed, want_code, want_lines in cases:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for rel, body in {**base, **changes}.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(body, encoding="utf-8")
            allowed_path = root / "scripts" / "layers-allowed.txt"
            allowed_path.parent.mkdir()
            if allowed is not None:
                allowed_path.write_text(allowed, encoding="utf-8")
            out = io.StringIO()
            code = run(root, allowed_path, out)
            lines = out.getvalue().splitlines()
            missing = [w for w in want_lines if w not in lines]
            unexpected = [l for l in lines if "[NEW" in l and l not in want_lines]
            if code != want_code or missing or unexpected:
                failures += 1
                print(f"FAIL {name}: exit {code} (want {want_code})")
                for w in missing:
                    print(f"    missing: {w}")
                for u in unexpected:
                    print(f"    unexpected: {u}")
                print("    output:\n      " + "\n      ".join(lines))
            else:
                print(f"ok   {name}")
    # Round trip: --write-allowed makes today's tree pass.
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, body in {**base, "src/queue/mod.rs": "use crate::ui::Screen;\n"}.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(body, encoding="utf-8")
        allowed_path = root / "allowed.txt"
        write_allowed(allowed_path, check_tree(root))
        code = run(root, allowed_path, io.StringIO())
        if code != 0:
            failures += 1
            print("FAIL the written allow-list passes the tree it was written from")
        else:
            print("ok   the written allow-list passes the tree it was written from")
    print(f"{failures} of {len(cases) + 1} cases failed in {time.perf_counter() - started:.2f} s")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--allowed", type=Path, help=f"allow-list (default: ROOT/{DEFAULT_ALLOWED})")
    parser.add_argument("--write-allowed", action="store_true", help="write today's breaks as the allow-list")
    parser.add_argument("--self-test", action="store_true", help="run the built-in cases and exit")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    allowed = args.allowed or args.root / DEFAULT_ALLOWED
    if args.write_allowed:
        report = check_tree(args.root)
        write_allowed(allowed, report)
        print(f"wrote {len(entries_of(report))} entries to {allowed}")
        return 0
    return run(args.root, allowed)


if __name__ == "__main__":
    sys.exit(main())
