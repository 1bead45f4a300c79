"""``python -m seqlab`` runs the command-line interface."""

from seqlab.cli import main

if __name__ == "__main__":
    main()
