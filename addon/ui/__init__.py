"""What the user sees and sets: the add-on's properties, its preferences and the sidebar
panel."""
