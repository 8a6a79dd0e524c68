"""`python -m fakescope ...` (what torchrun launches) runs the same CLI as the `fakescope` script."""

from fakescope.cli import main

if __name__ == "__main__":
    main()
