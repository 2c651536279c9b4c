# Shared by scripts/run and scripts/test: install system packages and the Python package.
# Usage: source scripts/deps.sh; ensure_python_deps [extras]; ensure_system_deps cmd:pkg...; ensure_font family pkg

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

ensure_system_deps() {
  # $@: "command:debian-package" pairs; installs the packages whose command is missing.
  local missing=()
  for pair in "$@"; do
    local cmd="${pair%%:*}" pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> 安装系统依赖: ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    as_root apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || echo "!!  无法自动安装 ${missing[*]}（需要 root 或 sudo）"
  else
    echo "!!  请手动安装: ${missing[*]}"
  fi
}

ensure_font() {
  # $1: a font family fontconfig should know, $2: the Debian package that has it.
  fc-list 2>/dev/null | grep -qF "$1" || ensure_system_deps "__nofont__:$2"
}

ensure_python_deps() {
  local extras="${1:-}"
  local spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  echo "==> 安装 Python 依赖 (pip install -e $spec)"
  local log
  log="$(mktemp)"
  if ! python3 -m pip install -q --disable-pip-version-check -e "$spec" >"$log" 2>&1; then
    grep -v -E "^WARNING: Running pip as the 'root'" "$log"
    rm -f "$log"
    echo "!!  Python 依赖安装失败"
    return 1
  fi
  rm -f "$log"
}
