"""Every page shows 北京时间, whatever the browser's zone: 办事, 公文 and 消息 formatted times in the
zone of the computer (a laptop set to New York showed 2026-12-07 11:30 for 北京时间 2026-12-08 00:30)
while the 工作台, 会议 and notifications used Asia/Shanghai. They all go through one formatter now
(``static/js/time.js``). The page modules run in node with TZ set to another zone; and no module
formats a moment with the browser's zone any more."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require_tool

JS = Path(__file__).resolve().parents[1] / "static" / "js"

CHECK = """
const time = await import("./time.js");
const ui = await import("./ui.js");
const banshi = await import("./pages/banshi/common.js");
const messages = await import("./pages/messages/common.js");
const tianbao = await import("./pages/tianbao/common.js");
const at = "2026-12-07T16:30:00Z"; // 北京时间 8 December 00:30; New York 7 December 11:30
console.log(JSON.stringify({
  local: new Date(at).getHours(),
  banshi: banshi.fmtTime(at),
  tianbao: tianbao.fmtTime(at),
  ui: ui.formatTime(at),
  messages: messages.fmtTime(at),
  shared: [time.dateTime(at), time.beijingDate(at), time.beijingHm(at)],
  periods: tianbao.periodOptions(new Date("2026-12-31T16:30:00Z")).slice(0, 1).map((p) => p.value),
  typed: time.fromBeijingLocal("2026-12-08T00:30"),
}));
"""

# Formatting with the browser's zone: Date's local getters and toLocale*String, Intl without time.js.
LOCAL_ZONE = re.compile(
    r"\.(getHours|getMinutes|getDate|getMonth|getFullYear|getDay)\(\)"
    r"|\.toLocale(Time|Date)?String\((?![^)]*maximumFractionDigits)|\.toDateString\(\)|new Intl\.DateTimeFormat"
)


def test_page_formatters_give_beijing_time_in_another_zone(tmp_path: Path) -> None:
    node = require_tool("node")
    shutil.copytree(JS, tmp_path / "js")
    (tmp_path / "js" / "package.json").write_text('{"type": "module"}')  # ES modules for any node
    done = subprocess.run(
        [node, "--input-type=module", "-e", CHECK],
        cwd=tmp_path / "js",
        env={**os.environ, "TZ": "America/New_York"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout)
    assert got["local"] == 11  # the zone really is another one
    assert got["banshi"] == got["tianbao"] == "2026-12-08 00:30"
    assert got["ui"] == "2026/12/08 00:30"
    assert got["messages"] in ("00:30", "12月8日 00:30")  # today or another day, in 北京时间
    assert got["shared"] == ["2026-12-08 00:30", "2026-12-08", "00:30"]
    assert got["periods"] == ["2027Q4"]  # 1 January 2027 in Beijing: this year's periods are 2027's
    assert got["typed"] == "2026-12-08T00:30:00+08:00"


def test_no_module_formats_times_in_the_browsers_zone() -> None:
    found = [
        f"{path.relative_to(JS)}:{n}: {line.strip()}"
        for path in sorted(JS.rglob("*.js"))
        if path.name != "time.js"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LOCAL_ZONE.search(line)
    ]
    assert found == [], "\n".join(found)
