"""``python -m sim.explore``: the plan explorer, kept at this name for the command line
(its code: ``sim.app.explore``)."""

from sim.app.explore import main

if __name__ == "__main__":
    main()
