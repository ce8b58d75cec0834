# The two commands a new user needs (see README): `make run` and `make test`.
VENV := .venv/bin

.PHONY: run test setup setup-dev lint format bench room

run: setup
	$(VENV)/streamlit run app.py

# Serve a room on the local network: every interface, a presenter password (README,
# "Play with a room").
room: setup
	$(VENV)/python scripts/room.py

test: setup-dev
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/lint-imports
	# Two workers (pytest-xdist), one per core: each starts its own servers on free ports.
	# Work stealing: an idle worker takes tests queued for the other, so the long browser
	# journeys do not leave one core idle at the end. The slowest tests are listed last.
	$(VENV)/python -m pytest -n 2 --dist worksteal --durations=15

setup:
	./scripts/setup.sh

setup-dev:
	./scripts/setup.sh --dev

format: setup-dev
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

bench: setup-dev
	$(VENV)/python -m bench
