"""Full-text search over the shipped knowledge base (``agents/knowledge/*.md``) with SQLite FTS5.

Each ``## `` section of a markdown file is one document: its title, its body, and the words of
an optional ``<!-- keywords: ... -->`` comment in the section (the other ways customers ask for
it, e.g. "momo" or "Entebbe"; indexed but never shown, since the body is what a reply quotes).
The index lives in an in-memory SQLite database built once per engine (a few dozen rows, well
under a millisecond to query), so a search is pure CPU on data already in memory and does not
touch the disk or the network.

The customer's words are never passed to FTS5 as a query expression: they are reduced to
alphanumeric terms without stop words (question words, pronouns, "much", "does", WhatsApp
shorthand like "u" and "r"), each quoted, and OR-ed together, so punctuation in a WhatsApp
message can not be a syntax error and nothing the model writes can change the query's shape.
Results are ranked with BM25, a title match counting four times and a keyword match three times
a body match, so the section *about* opening hours beats one that merely says "opened".
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KNOWLEDGE_DIR", "KnowledgeHit", "KnowledgeIndex"]

KNOWLEDGE_DIR = Path(__file__).with_name("knowledge")

_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from have how i in is it me my of on or our please the this "
    "to us we what when where which who why will with you your hi hello there any "
    "hey much many did get got tell know want like would could should just also so if im am was were been "
    "ur u r pls plz kindly dear madam sir ok okay thanks thank".split()
)
_KEYWORDS = re.compile(r"^<!--\s*keywords:(.*?)-->$", re.IGNORECASE)


@dataclass(frozen=True)
class KnowledgeHit:
    """One matching section."""

    source: str
    title: str
    text: str
    score: float


def _sections(path: Path) -> list[tuple[str, str, str]]:
    """(title, body, keywords) of each ``## `` section of ``path``."""
    sections: list[tuple[str, str, str]] = []
    title = ""
    lines: list[str] = []
    keywords: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "## "]:
        if line.startswith("## "):
            if title and lines:
                sections.append((title, " ".join(lines).strip(), " ".join(keywords).strip()))
            title, lines, keywords = line[3:].strip(), [], []
        elif found := _KEYWORDS.match(line.strip()):
            keywords.append(found[1].strip())
        elif not line.startswith("# ") and line.strip():
            lines.append(line.strip())
    return sections


def terms(text: str) -> list[str]:
    """The searchable words of ``text`` (lower-case, no stop words, no duplicates)."""
    seen: dict[str, None] = {}
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word not in _STOPWORDS and len(word) > 1:
            seen.setdefault(word, None)
    return list(seen)


class KnowledgeIndex:
    """An FTS5 index of the knowledge base; build once, query from any task."""

    def __init__(self, directory: Path = KNOWLEDGE_DIR) -> None:
        self._directory = directory
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.documents = 0

    def build(self) -> None:
        """Read every markdown file and index its sections (idempotent)."""
        if self._db is not None:
            return
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute(
            "CREATE VIRTUAL TABLE kb USING fts5(source UNINDEXED, title, body, keywords, tokenize='porter unicode61')"
        )
        rows = [(path.stem, *section) for path in sorted(self._directory.glob("*.md")) for section in _sections(path)]
        db.executemany("INSERT INTO kb (source, title, body, keywords) VALUES (?, ?, ?, ?)", rows)
        db.commit()
        self.documents = len(rows)
        self._db = db

    def close(self) -> None:
        """Drop the index."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def search(self, query: str, limit: int = 3) -> list[KnowledgeHit]:
        """The best ``limit`` sections for ``query``; empty when nothing matches."""
        if self._db is None:
            raise RuntimeError("KnowledgeIndex used before build()")
        words = terms(query)[:16]
        if not words:
            return []
        expression = " OR ".join(f'"{word}"' for word in words)
        with self._lock:
            rows = self._db.execute(
                "SELECT source, title, body, bm25(kb, 0.0, 4.0, 1.0, 3.0) AS score FROM kb WHERE kb MATCH ? "
                "ORDER BY score LIMIT ?",
                (expression, max(1, min(limit, 10))),
            ).fetchall()
        return [KnowledgeHit(source=s, title=t, text=b, score=-float(score)) for s, t, b, score in rows]
