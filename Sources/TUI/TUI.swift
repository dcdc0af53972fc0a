// Module TUI: see DESIGN.md. Filled in by its own issue.
import CNCurses
import CReadline
