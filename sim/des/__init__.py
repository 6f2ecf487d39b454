"""The discrete-event kit both engines share."""
