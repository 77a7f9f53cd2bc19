"""Pure renderers: data → text (no printing; pi_k8s.console draws on the terminal)."""
