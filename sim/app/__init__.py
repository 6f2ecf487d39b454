"""The application: Hydra, the command line, sweeps and searches."""
