"""Tables, summaries, files and figures of both engines."""
