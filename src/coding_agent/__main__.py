"""``python -m coding_agent``: the same command line as ``coding-agent``."""

from coding_agent.cli import main

if __name__ == "__main__":
    main()
