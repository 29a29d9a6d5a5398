"""Runtime shared by every stage: settings, logging, Redis delivery, metrics, health."""
