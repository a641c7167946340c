"""``python -m groundshare.cli``: the ``groundshare`` command (as services and tests start the server)."""

from groundshare.cli import app

if __name__ == "__main__":
    app()
