"""Qt widgets of Panelsmith: the main window, the page canvas and the docks."""
