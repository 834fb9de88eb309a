"""Parses Swift sources with tree-sitter-swift and reports syntax errors.

There is no Swift compiler on the Linux machines that run CI, so this is the one check the
hand-written Swift (the ImBridge layer, the tests, Package.swift) gets there: it catches broken
syntax (a lost brace, a stray token), not type errors. The generated bindings are not checked
with it: they are compared byte for byte with a fresh generation instead (and the grammar does
not know `@_documentation(visibility: private)`).

    python3 swift_syntax.py FILE.swift...

Prints one line per error and exits 1 if there is any; 2 if tree-sitter is not installed.
"""

import sys

try:
    import tree_sitter_swift
    from tree_sitter import Language, Parser
except ImportError as e:  # pragma: no cover - reported by the caller
    print(f"swift_syntax: {e} (pip install tree-sitter tree-sitter-swift)", file=sys.stderr)
    sys.exit(2)


def errors(parser, path):
    source = open(path, "rb").read()
    found = []

    def walk(node):
        if node.type == "ERROR" or node.is_missing:
            text = source[node.start_byte:node.end_byte][:60].decode(errors="replace")
            what = f"missing {node.type}" if node.is_missing else "syntax error"
            found.append(f"{path}:{node.start_point[0] + 1}:{node.start_point[1] + 1}: {what}: {text!r}")
            return
        for child in node.children:
            walk(child)

    walk(parser.parse(source).root_node)
    return found


def main(paths):
    parser = Parser(Language(tree_sitter_swift.language()))
    problems = [line for path in paths for line in errors(parser, path)]
    for line in problems:
        print(line)
    print(f"swift_syntax: {len(paths)} files, {len(problems)} syntax errors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
