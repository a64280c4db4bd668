#!/usr/bin/env bash
# Panelsmith set-up and entry point.
#   bash dev.sh run [ARGS...]   set up .venv (first time only) and start the app (sample project)
#   bash dev.sh test [ARGS...]  set up .venv with the test extras and run the test suite
#   bash dev.sh setup [test]    only set up
#   bash dev.sh check-qt [PY]   check that Qt can open a window on this X display (run does this first)
# Set-up is idempotent and skips pip entirely when pyproject.toml and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

setup() {
    local extras="$1"
    local stamp="$VENV/.panelsmith-setup"
    local hash want
    hash="$(cat pyproject.toml dev.sh | sha256sum | cut -d' ' -f1)"
    want="$hash $extras"
    # A set-up with the test extras also satisfies a plain run.
    if [[ -x "$VENV/bin/python" && -f "$stamp" ]] && { grep -qxF "$want" "$stamp" || { [[ -z "$extras" ]] && grep -q "^$hash " "$stamp"; }; }; then
        return 0
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "dev.sh: creating virtual environment in .venv" >&2
        "$PY" -m venv "$VENV"
    fi
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
    mapfile -t deps < <("$VENV/bin/python" - "$extras" <<'PYEOF'
import sys, tomllib
data = tomllib.load(open("pyproject.toml", "rb"))
deps = list(data["project"]["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    deps += data["project"]["optional-dependencies"][extra]
print("\n".join(deps))
PYEOF
)
    # Keep a torch the user already has; otherwise take the CPU/CUDA-agnostic pinned release.
    if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
        deps=("torch==2.13.0" "${deps[@]}")
    fi
    echo "dev.sh: installing dependencies (${extras:-runtime})" >&2
    "${pip[@]}" install -q "${deps[@]}"
    mapfile -t nodeps < <("$VENV/bin/python" -c "import tomllib;print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['tool']['panelsmith']['nodeps']['packages']))")
    "${pip[@]}" install -q --no-deps "${nodeps[@]}"
    echo "$want" > "$stamp"
}

# System libraries Qt's xcb platform plugin needs (Debian/Ubuntu names); README lists the same.
XCB_PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1"

# With an X display (and no other platform asked for), check that Qt loads its xcb plugin; when it
# cannot, print the one apt-get line that installs what it needs and fail.
check_qt() {
    local py="$1"
    [[ -n "${DISPLAY:-}" ]] || return 0
    [[ -z "${QT_QPA_PLATFORM:-}" || "${QT_QPA_PLATFORM:-}" == xcb* ]] || return 0
    local log
    if log="$(QT_QPA_PLATFORM=xcb timeout 30 "$py" -c "import sys
from PySide6.QtGui import QGuiApplication
QGuiApplication(sys.argv[:1])" 2>&1)"; then
        return 0
    fi
    echo "dev.sh: Qt cannot open a window on display $DISPLAY: its xcb platform plugin did not load." >&2
    echo "$log" | grep -iE "xcb|platform|lib[a-z0-9_-]+\.so" | head -n 3 >&2 || true
    echo "dev.sh: install the system libraries it needs, then run again:" >&2
    echo "sudo apt-get install -y $XCB_PACKAGES"
    return 1
}

cmd="${1:-run}"
shift || true
case "$cmd" in
    setup) setup "${1:-}" ;;
    check-qt)
        if [[ -n "${1:-}" ]]; then check_qt "$1"; else setup ""; check_qt "$VENV/bin/python"; fi ;;
    run)
        setup ""
        check_qt "$VENV/bin/python"
        exec "$VENV/bin/python" main.py "$@" ;;
    test)
        setup "test"
        export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
        "$VENV/bin/lint-imports" --no-cache
        # The ComfyUI tests talk to a real server; it is built once under .cache/comfyui (its own venv).
        "$VENV/bin/python" -c "import tests.comfyui_server as s; s.build()"
        exec "$VENV/bin/python" -m pytest "$@" ;;
    *) echo "usage: bash dev.sh run|test|setup|check-qt" >&2; exit 2 ;;
esac
