#!/usr/bin/env bash
# Set up everything the app (and, with --dev, the tests) needs, idempotently:
#   - Debian packages: the Fashion-MNIST dataset and (for --dev) Chromium, when apt is
#     available and we are root; otherwise a note on what to do instead;
#   - a virtual environment in .venv with the pinned requirements.
# The second run is quick: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1
PYTHON=${PYTHON:-python3}
DATA_DIR=/usr/share/datasets/fashion-mnist

apt_packages=()
[ -f "$DATA_DIR/t10k-labels-idx1-ubyte.gz" ] || [ -n "${FASHION_MNIST_DIR:-}" ] || apt_packages+=(dataset-fashion-mnist)
[ $dev = 1 ] && [ ! -x /usr/bin/chromium ] && apt_packages+=(chromium)

if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${apt_packages[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt_packages[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${apt_packages[*]}"
    echo "       install them (sudo apt-get install ${apt_packages[*]}), or set FASHION_MNIST_DIR;"
    echo "       the app can also download the dataset through Keras when online."
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi

# Reinstall only when a requirements file changed since the last successful install
# (a dev install covers the runtime requirements too).
runtime_stamp=.venv/.installed-$(sha256sum requirements.txt | cut -c1-16)
dev_stamp=.venv/.installed-dev-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [ $dev = 1 ]; then stamp=$dev_stamp; requirements=requirements-dev.txt
else stamp=$runtime_stamp; requirements=requirements.txt; fi
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages ($requirements)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  touch "$stamp" "$runtime_stamp"
fi

if [ $dev = 1 ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  # Fallback for machines where nothing can be installed with apt: Playwright's own build.
  echo "setup: no Debian chromium; trying 'python -m playwright install chromium'"
  .venv/bin/python -m playwright install chromium || echo "setup: no browser; browser tests will fail"
fi
echo "setup: ready"
