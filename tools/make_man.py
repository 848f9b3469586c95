#!/usr/bin/env python3
"""Builds the man pages from docs/CLI.md, so that they say what the docs say.

    tools/make_man.py OUTDIR      writes OUTDIR/clonectl.1, clonefs-export.1 and clonefs.8

clonectl(1) is docs/CLI.md without the daemon's and the export tool's sections, which become
clonefs(8) and clonefs-export(1). Only the Markdown the docs use is understood: headings,
paragraphs, lists, tables, code blocks, inline code, bold and links.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAEMON_SECTION = "Mount options (clonefs)"
EXPORT_SECTION = "clonefs-export"

PAGES = [
    # file, name, section, one-line summary, synopsis, which ## sections
    ("clonectl.1", "clonectl", "1",
     "manage clonefs volumes, snapshots, keys, accounts and sharing",
     "clonectl [--store DIR] [--json] [--account ID] COMMAND [ARGS...]",
     lambda title: title not in (DAEMON_SECTION, EXPORT_SECTION)),
    ("clonefs.8", "clonefs", "8",
     "serve a clonefs store's volumes and snapshots as block-image files",
     "clonefs STORE_DIR MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]",
     lambda title: title == DAEMON_SECTION),
    ("clonefs-export.1", "clonefs-export", "1",
     "write snapshots as export streams and read them back",
     "clonefs-export [--store DIR] export|import ...",
     lambda title: title == EXPORT_SECTION),
]


def escape(text):
    """Roff-escapes plain text; characters beyond ASCII become \\[uXXXX]."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)


def inline(text):
    """Markdown inline markup to roff fonts; links keep their text."""
    out = []
    pos = 0
    for m in re.finditer(r"`([^`]*)`", text):
        out.append(prose(text[pos:m.start()]))
        out.append("\\fB" + escape(m.group(1)) + "\\fR")
        pos = m.end()
    out.append(prose(text[pos:]))
    return "".join(out)


def prose(text):
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = escape(text)
    return re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)


def line_safe(line):
    """A text line roff would read as a request starts with a zero-width character."""
    return "\\&" + line if line[:1] in (".", "'") else line


def cells(row):
    """The cells of a table row; "\\|" is a "|" inside a cell."""
    inner = row.strip()[1:-1] if row.strip().endswith("|") else row.strip()[1:]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def convert(lines):
    """Markdown lines (of the chosen sections) to roff lines."""
    out = []
    i = 0
    para = []

    def flush():
        if para:
            out.append(line_safe(inline(" ".join(para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".nf")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_safe(escape(lines[i])))
                i += 1
            out.append(".fi")
        elif line.startswith("## "):
            flush()
            out.append(".SH " + escape(line[3:].upper()))
        elif line.startswith("### "):
            flush()
            out.append(".SS " + escape(line[4:]))
        elif line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            i -= 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            for r in body:
                out.append(".TP")
                out.append(line_safe(inline(r[0])))
                out.append(line_safe(inline(" \u2014 ".join(c for c in r[1:] if c))))
        elif re.match(r"\s*[-*] ", line):
            flush()
            item = [re.sub(r"^\s*[-*] ", "", line)]
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                item.append(lines[i].strip())
            out.append(".IP \\(bu 2")
            out.append(line_safe(inline(" ".join(item))))
        elif not line.strip():
            flush()
            if out and out[-1] != ".PP":
                out.append(".PP")
        elif line.startswith("# "):
            pass  # the document's title: the page has its own
        else:
            para.append(line.strip())
        i += 1
    flush()
    return out


def sections(text):
    """(title, lines) of each ## section, the heading line included."""
    found = []
    for line in text.splitlines():
        if line.startswith("## "):
            found.append((line[3:].strip(), [line]))
        elif found:
            found[-1][1].append(line)
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_man.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(ROOT, "docs", "CLI.md"), encoding="utf-8") as f:
        doc = sections(f.read())
    for file, name, section, summary, synopsis, wanted in PAGES:
        lines = [l for title, body in doc if wanted(title) for l in body]
        if not lines:
            sys.exit(f"make_man: docs/CLI.md has no section for {file}")
        page = [
            f'.TH {name.upper()} {section} "" "clonefs" "clonefs"',
            ".SH NAME",
            f"{escape(name)} \\- {escape(summary)}",
            ".SH SYNOPSIS",
            ".nf",
            escape(synopsis),
            ".fi",
        ] + convert(lines) + [
            ".SH SEE ALSO",
            ", ".join(f"\\fB{escape(p[1])}\\fR({p[2]})" for p in PAGES if p[1] != name),
        ]
        with open(os.path.join(outdir, file), "w", encoding="utf-8") as f:
            f.write("\n".join(page) + "\n")
        print(os.path.join(outdir, file))


if __name__ == "__main__":
    main()
