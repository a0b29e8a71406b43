"""The Temporal runtime: many runs across machines, the same loop as the local runtime.

A Temporal workflow (`IdoRun`, in `workflow`) holds a run's journal in its durable
history; an activity (`pursue`, in `activity`) drives a `LocalRuntime` on a worker with a
journal that forwards each write to the workflow before it returns (`forwarding`). Only
the modules of this package import temporalio, and only when a command asks for Temporal:
`import ido.temporal` itself loads nothing of it.
"""
