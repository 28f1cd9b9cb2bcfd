"""Prints the shell commands README.md shows in one section, one per line.

CI runs exactly these lines, so README's commands and CI cannot drift:

    python .ci/readme_commands.py "The two commands"
    python .ci/readme_commands.py "Documentation"

A command is a line of a fenced ```bash block under the `## <section>`
heading (up to the next `## ` heading); blank lines and comment lines are
left out. Exits with status 1 and a message when the section or its
commands are missing.
"""

import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def section_commands(text, heading):
    """The command lines of the fenced bash blocks under `## heading`."""
    match = re.search(
        rf"^## {re.escape(heading)}[ \t]*\n(.*?)(?=^## |\Z)",
        text,
        flags=re.MULTILINE | re.DOTALL,
    )
    if match is None:
        raise ValueError(f"README.md has no '## {heading}' section")
    blocks = re.findall(
        r"^```(?:bash|sh|shell)[ \t]*\n(.*?)^```",
        match.group(1),
        flags=re.MULTILINE | re.DOTALL,
    )
    commands = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if not commands:
        raise ValueError(
            f"README.md's '## {heading}' section has no fenced bash command"
        )
    return commands


def main(argv):
    if len(argv) != 1:
        print(f"usage: {sys.argv[0]} SECTION_HEADING", file=sys.stderr)
        return 2
    try:
        commands = section_commands(README.read_text("utf-8"), argv[0])
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(commands))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
