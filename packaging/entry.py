"""Entry point of the desktop bundle (PyInstaller freezes this script as `instruction-workbench`).

The bundle's binary is the same program as the `workbench` command: no argument opens the GUI,
`--self-test` runs the headless check, every subcommand works.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not re-run the app
    from workbench.cli import main

    sys.exit(main())
