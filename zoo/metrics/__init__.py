"""Offline evaluation: sample quality in the feature space of a Fashion-MNIST classifier
the project trains itself, and likelihood in bits/dim."""
