"""From a panel to the engine and back: requests, the job queue, results, the command line's runner."""
