"""``python -m sim.calibrate``: the fits and their leave-one-out errors, kept at this name for the
command line (its code: ``sim.app.calibrate``)."""

from sim.app.calibrate import main

if __name__ == "__main__":
    main()
