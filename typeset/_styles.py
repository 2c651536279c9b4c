"""Effective run properties of any .docx: run -> character style -> paragraph style chain -> defaults.

Only what the conformance checker needs: East Asian font name, size in half-points, colour.
Theme fonts (``w:eastAsiaTheme``) are resolved through word/theme/theme1.xml where possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docx.document import Document as DocxDocument
from docx.oxml.ns import qn

A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"


@dataclass(frozen=True)
class RunProps:
    font: str | None
    latin: str | None
    size: int | None  # half-points
    color: str | None  # upper-case hex or None for auto/black
    spacing: int = 0  # character spacing in twips (w:spacing), resolved like the rest


class StyleResolver:
    def __init__(self, word: DocxDocument) -> None:
        self.styles: dict[str, Any] = {}
        styles_el = word.styles.element
        for st in styles_el.findall(qn("w:style")):
            sid = st.get(qn("w:styleId"))
            if sid:
                self.styles[sid] = st
        self.default_para = next(
            (
                sid
                for sid, st in self.styles.items()
                if st.get(qn("w:type")) == "paragraph" and st.get(qn("w:default")) in ("1", "true")
            ),
            None,
        )
        dd = styles_el.find(qn("w:docDefaults"))
        rpr_default = dd.find(qn("w:rPrDefault")) if dd is not None else None
        self.default_rpr = rpr_default.find(qn("w:rPr")) if rpr_default is not None else None
        ppr_default = dd.find(qn("w:pPrDefault")) if dd is not None else None
        self.default_ppr = ppr_default.find(qn("w:pPr")) if ppr_default is not None else None
        self.theme = self._theme_fonts(word)

    @staticmethod
    def _theme_fonts(word: DocxDocument) -> dict[str, str]:
        fonts: dict[str, str] = {}
        for rel in word.part.rels.values():
            if rel.reltype.endswith("/theme") and not rel.is_external:
                from lxml import etree

                parser = etree.XMLParser(resolve_entities=False, no_network=True)
                root = etree.fromstring(rel.target_part.blob, parser)
                for kind in ("major", "minor"):
                    el = root.find(f".//{{{A_NS}}}{kind}Font")
                    if el is None:
                        continue
                    ea = el.find(f"{{{A_NS}}}ea")
                    hans = el.find(f"{{{A_NS}}}font[@script='Hans']")
                    name = (ea.get("typeface") if ea is not None else "") or (
                        hans.get("typeface") if hans is not None else ""
                    )
                    latin = el.find(f"{{{A_NS}}}latin")
                    fonts[kind + "EastAsia"] = name or ""
                    fonts[kind + "HAnsi"] = latin.get("typeface", "") if latin is not None else ""
        return fonts

    def _chain(self, style_id: str | None) -> list[Any]:
        out: list[Any] = []
        seen: set[str] = set()
        while style_id and style_id in self.styles and style_id not in seen:
            seen.add(style_id)
            st = self.styles[style_id]
            out.append(st.find(qn("w:rPr")))
            based = st.find(qn("w:basedOn"))
            style_id = based.get(qn("w:val")) if based is not None else None
        return out

    def run_props(self, paragraph_el: Any, run_el: Any) -> RunProps:
        layers: list[Any] = [run_el.find(qn("w:rPr"))]
        rpr = run_el.find(qn("w:rPr"))
        rstyle = rpr.find(qn("w:rStyle")) if rpr is not None else None
        if rstyle is not None:
            layers += self._chain(rstyle.get(qn("w:val")))
        ppr = paragraph_el.find(qn("w:pPr"))
        pstyle = ppr.find(qn("w:pStyle")) if ppr is not None else None
        layers += self._chain(pstyle.get(qn("w:val")) if pstyle is not None else self.default_para)
        layers.append(self.default_rpr)
        return RunProps(
            font=self._font(layers, "eastAsia"),
            latin=self._font(layers, "ascii"),
            size=self._int(layers, "w:sz"),
            color=self._color(layers),
            spacing=self._spacing(layers),
        )

    def line_spacing(self, paragraph_el: Any) -> tuple[int | None, str | None]:
        """Effective (w:line, w:lineRule) of a paragraph: paragraph -> style chain -> docDefaults."""
        layers: list[Any] = [paragraph_el.find(qn("w:pPr"))]
        ppr = layers[0]
        pstyle = ppr.find(qn("w:pStyle")) if ppr is not None else None
        style_id = pstyle.get(qn("w:val")) if pstyle is not None else self.default_para
        seen: set[str] = set()
        while style_id and style_id in self.styles and style_id not in seen:
            seen.add(style_id)
            layers.append(self.styles[style_id].find(qn("w:pPr")))
            based = self.styles[style_id].find(qn("w:basedOn"))
            style_id = based.get(qn("w:val")) if based is not None else None
        layers.append(self.default_ppr)
        for layer in layers:
            sp = layer.find(qn("w:spacing")) if layer is not None else None
            if sp is not None and sp.get(qn("w:line")):
                return int(sp.get(qn("w:line"))), sp.get(qn("w:lineRule"))
        return None, None

    @staticmethod
    def _spacing(layers: list[Any]) -> int:
        for layer in layers:
            el = layer.find(qn("w:spacing")) if layer is not None else None
            if el is not None and el.get(qn("w:val")):
                try:
                    return int(el.get(qn("w:val")))
                except ValueError:
                    return 0
        return 0

    def _font(self, layers: list[Any], slot: str) -> str | None:
        for layer in layers:
            el = layer.find(qn("w:rFonts")) if layer is not None else None
            if el is None:
                continue
            theme = el.get(qn("w:" + slot + "Theme"))
            if theme:
                key = ("major" if "major" in theme else "minor") + ("EastAsia" if slot == "eastAsia" else "HAnsi")
                return self.theme.get(key) or None
            name = el.get(qn("w:" + slot))
            if name:
                return str(name)
        return None

    @staticmethod
    def _int(layers: list[Any], tag: str) -> int | None:
        for layer in layers:
            el = layer.find(qn(tag)) if layer is not None else None
            if el is not None and el.get(qn("w:val")):
                try:
                    return int(float(el.get(qn("w:val"))))
                except ValueError:
                    return None
        return 20  # Word's built-in default: 10 pt

    @staticmethod
    def _color(layers: list[Any]) -> str | None:
        for layer in layers:
            el = layer.find(qn("w:color")) if layer is not None else None
            if el is not None:
                val = (el.get(qn("w:val")) or "").upper()
                return None if val in ("", "AUTO", "000000") else val
        return None
