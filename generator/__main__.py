"""`python -m generator` runs the CLI."""


from .cli import main

main()
