"""The local stack that `collect up` (and bin/run) runs: Temporal's dev server, the worker and the
API as supervised child processes (supervisor.py, parts.py), the data folder they share
(data_dir.py), the API keys it hands out (keys.py), the demo it seeds through the API (demo.py)
from a synthetic portfolio (portfolio.py), and the start-up sequence that ties them (up.py)."""
