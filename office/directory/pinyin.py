"""Pinyin keys for names, so "zhangwei" and "zw" both find 张伟."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def syllables(name: str) -> list[str]:
    return [s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.strip()]


def full_and_initials(name: str) -> tuple[str, str]:
    parts = syllables(name)
    return "".join(parts), "".join(p[0] for p in parts if p)


def search_keys(name: str, title: str, department_names: list[str]) -> list[tuple[str, int]]:
    """(key, weight) pairs: any suffix of the name and of its pinyin, initials, title, departments.

    Suffixes make a prefix lookup on the key index behave as "contains" for names (伟 finds 张伟)
    while staying an index range scan. Lower weight ranks first.
    """
    keys: dict[str, int] = {}

    def put(key: str, weight: int) -> None:
        key = key.strip().lower()
        if key and (key not in keys or keys[key] > weight):
            keys[key] = weight

    name = name.strip()
    put(name, 0)
    for i in range(1, len(name)):
        put(name[i:], 3)
    parts = syllables(name)
    put("".join(parts), 1)
    put("".join(p[0] for p in parts if p), 2)
    for i in range(1, len(parts)):
        put("".join(parts[i:]), 4)
    if title:
        put(title, 5)
    for dept in department_names:
        put(dept, 6)
    return list(keys.items())
