"""Comic scripts: read a Full Script (or markdown, or Fountain-style) text and lay out the book from it."""
