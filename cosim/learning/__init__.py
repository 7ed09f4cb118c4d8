"""Learning: EP controller, BP–EP chain, implicit-differentiation reference, losses and optimisers."""
