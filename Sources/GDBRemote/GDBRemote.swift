// Module GDBRemote: see DESIGN.md. Filled in by its own issue.
