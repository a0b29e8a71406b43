"""The publish-report example: render, publish and index a report on the local disk."""
