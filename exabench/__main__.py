"""``python -m exabench``: the same CLI as the ``exabench`` console script."""

from exabench.cli import main

if __name__ == "__main__":
    main()
